"""The scripted doctors' wording, loaded from ``agents/prompts/scripted_doctor.yaml``."""

from __future__ import annotations

import functools
from typing import Literal

from clinic_env.content import content_path, load_yaml_model
from clinic_env.schema.base import Frozen

Inquiry = Literal["chief_complaint", "specification", "accompanying", "history"]
BiasModel = Literal[
    "confirmation",
    "recency",
    "frequency",
    "false_consensus",
    "status_quo",
    "anchoring",
    "curtailed_history",
]
"""How a scripted doctor acts out a bias (see :mod:`.leanings`)."""


class ScriptedQuestion(Frozen):
    inquiry: Inquiry
    text: str


class DoctorScript(Frozen):
    history_questions: tuple[ScriptedQuestion, ...]
    extra_questions: tuple[str, ...]
    specialty_exams: dict[str, tuple[str, ...]]
    default_exams: tuple[str, ...]
    biases: dict[str, BiasModel]
    """Doctor bias id -> the behaviour model the scripted doctors act it out with."""


@functools.cache
def doctor_script() -> DoctorScript:
    return load_yaml_model(content_path("agents", "prompts", "scripted_doctor.yaml"), DoctorScript)
