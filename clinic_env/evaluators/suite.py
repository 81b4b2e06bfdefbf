"""The built-in evaluators, registered on import, and the default set a session runs.

Importing this module registers every built-in evaluator with
:data:`~clinic_env.evaluators.registry.EVALUATORS`; :func:`create_evaluators` builds them
by name. Third-party evaluators register the same way (in their package, found through the
``clinic_env.evaluators`` entry-point group) and are named alongside these.
"""

from __future__ import annotations

from collections.abc import Sequence

from clinic_env.agents.model_role import ModelRole
from clinic_env.errors import ConfigError
from clinic_env.evaluators import (  # noqa: F401 - imported to register their evaluators
    bias,
    fidelity,
    inquiry,
    llm_judge,
    questionnaire,
    rubric,
    scoring,
)
from clinic_env.evaluators.registry import EVALUATORS, Evaluator

OFFLINE_EVALUATORS = (
    "diagnosis",
    "mcq",
    "coverage",
    "tests",
    "inquiry",
    "rubric",
    "fidelity",
    "bias",
)
"""What every consultation is scored with unless told otherwise: rules only, no model (each
is registered ``offline``)."""


def default_evaluators(judge: bool) -> tuple[str, ...]:
    """The offline evaluators, and the judge's view of the diagnosis when there is a judge."""
    return (*OFFLINE_EVALUATORS, "llm_judge") if judge else OFFLINE_EVALUATORS


def create_evaluators(names: Sequence[str], judge: ModelRole | None) -> list[Evaluator]:
    """Evaluators by name; naming one registered ``needs_judge`` without a judge is a config
    error."""
    entries = [EVALUATORS.entry(name) for name in names]
    missing = [entry.name for entry in entries if entry.meta.needs_judge and judge is None]
    if missing:
        raise ConfigError(f"evaluator(s) {', '.join(missing)} need a judge model (judge=...)")
    return [entry.factory(judge) for entry in entries]
