"""The verifiers taskset ``clinic_env_verifiers``: a top-level alias of the verifiers adapter.

verifiers' plugin loader imports a taskset id as one top-level module name (a dotted id
such as ``clinic_env.adapters.verifiers`` does not load), so this package re-exports
:mod:`clinic_env.adapters.verifiers`, whose ``__all__`` names the taskset and its env.
"""

from clinic_env.adapters.verifiers import *  # noqa: F403
from clinic_env.adapters.verifiers import __all__ as __all__
