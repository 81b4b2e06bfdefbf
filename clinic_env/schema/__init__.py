"""Pydantic models at every boundary: cases, personas, actions, transcripts, scores."""

from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import (
    FACT_CATEGORIES,
    Case,
    CaseImage,
    Demographics,
    DifferentialItem,
    DoctorView,
    ExamFinding,
    Fact,
    FactCategory,
    GroundTruth,
    MeasurementView,
    PatientView,
    Source,
    TestResult,
)
from clinic_env.schema.persona import Bias, Persona, PersonaBehaviour, PersonaPhrases
from clinic_env.schema.transcript import (
    ModelCall,
    Outcome,
    Score,
    ScoreComponent,
    Transcript,
    Turn,
)

__all__ = [
    "FACT_CATEGORIES",
    "Action",
    "ActionKind",
    "Bias",
    "Case",
    "CaseImage",
    "Demographics",
    "DifferentialItem",
    "DoctorView",
    "ExamFinding",
    "Fact",
    "FactCategory",
    "GroundTruth",
    "MeasurementView",
    "ModelCall",
    "Outcome",
    "PatientView",
    "Persona",
    "PersonaBehaviour",
    "PersonaPhrases",
    "Score",
    "ScoreComponent",
    "Source",
    "TestResult",
    "Transcript",
    "Turn",
]
