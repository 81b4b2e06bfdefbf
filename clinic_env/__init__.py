"""clinic-env: simulated clinical consultations for evaluating and training doctor agents.

``ClinicEnv("starter", persona="anxious")`` is a Gymnasium environment; importing this
package also registers it as ``gymnasium.make("clinic_env/Consultation-v0")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clinic_env.envs.registration import ENV_ID, register_envs

__version__ = "0.1.0"
__all__ = ["ENV_ID", "ClinicEnv", "__version__", "load_cases"]

register_envs()

if TYPE_CHECKING:
    from clinic_env.datasets import load_cases
    from clinic_env.envs.gym_env import ClinicEnv


def __getattr__(name: str) -> Any:
    """Import the heavier faces only when they are first used."""
    if name == "ClinicEnv":
        from clinic_env.envs.gym_env import ClinicEnv

        return ClinicEnv
    if name == "load_cases":
        from clinic_env.datasets import load_cases

        return load_cases
    raise AttributeError(f"module 'clinic_env' has no attribute {name!r}")
