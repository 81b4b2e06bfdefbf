"""A clinical case, and the restricted views of it that each role is allowed to see.

The ground truth is a field of :class:`Case` alone. Patients, measurement agents and doctors
receive a view model that has no ground-truth field at all, so a leak cannot happen by
passing the wrong object: the type does not carry the answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from clinic_env.schema.base import Frozen, trusted

FactCategory = Literal[
    "presenting_complaint",
    "history_of_present_illness",
    "past_history",
    "medications",
    "allergies",
    "social",
    "family",
    "review_of_systems",
]
FACT_CATEGORIES: tuple[FactCategory, ...] = FactCategory.__args__  # type: ignore[attr-defined]

Sex = Literal["female", "male", "other", "unknown"]


class Source(Frozen):
    """Where a case came from, so any result can be traced to its record."""

    dataset: str
    version: str
    line: int | None = Field(default=None, ge=1)
    record_id: str | None = None


class Demographics(Frozen):
    age_years: float = Field(ge=0, le=125)
    sex: Sex
    description: str = Field(min_length=1, description="e.g. '34-year-old woman'")


class Fact(Frozen):
    """One atomic piece of history the patient knows.

    ``text`` is the neutral clinical statement (used for coverage scoring); ``says`` is how
    the patient (or caregiver) would put it in their own words, when the case provides it.
    """

    category: FactCategory
    text: str = Field(min_length=1)
    says: str | None = None


class ExamFinding(Frozen):
    """What one part of the physical examination shows."""

    system: str = Field(min_length=1, description="e.g. 'cardiovascular', 'abdomen'")
    name: str = Field(min_length=1, description="e.g. 'auscultation', 'palpation'")
    finding: str = Field(min_length=1)


class TestResult(Frozen):
    """An investigation the case has a result for."""

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    group: str | None = Field(
        default=None,
        description="the panel or record section holding it (e.g. 'Serum laboratory values'), "
        "so a request for the group returns every test in it",
    )
    result: str = Field(min_length=1)
    cost_usd: float = Field(ge=0)
    turnaround_hours: float = Field(ge=0)


class CaseImage(Frozen):
    """An image (radiograph, photograph, slide) the doctor may request."""

    location: str = Field(min_length=1, description="URL or path of the image file")
    kind: str = Field(default="image", description="e.g. 'xray', 'CT scan', 'dermatology'")


class DifferentialItem(Frozen):
    diagnosis: str = Field(min_length=1)
    must_not_miss: bool = False


class GroundTruth(Frozen):
    """The answer: only evaluators may read it."""

    diagnosis: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    must_not_miss: bool = False
    differentials: tuple[DifferentialItem, ...] = ()
    answer_option: str | None = Field(default=None, description="MCQ letter, when options exist")
    answer_kind: Literal["diagnosis", "treatment", "mechanism", "value", "other"] = Field(
        default="diagnosis",
        description="What the answer names: the leak guard withholds only diagnoses, so a "
        "drug, mechanism or number that is the answer (MediQ) leaves the patient's facts whole",
    )


class Case(Frozen):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    specialty: str = Field(min_length=1)
    setting: Literal["emergency", "primary_care", "outpatient", "inpatient", "other"] | None = (
        Field(default=None, description="where the consultation happens (coverage tables)")
    )
    presentation: Literal["typical", "atypical"] | None = Field(
        default=None, description="a textbook presentation or not (coverage tables)"
    )
    source: Source
    demographics: Demographics
    informant: Literal["self", "caregiver"] = "self"
    caregiver: str | None = Field(
        default=None, description="e.g. 'mother', when a caregiver speaks"
    )
    doctor_brief: str = Field(min_length=1, description="What the doctor is told at the start")
    opening_statement: str = Field(min_length=1, description="What the patient says first")
    facts: tuple[Fact, ...] = Field(min_length=1)
    exam: tuple[ExamFinding, ...] = ()
    tests: tuple[TestResult, ...] = ()
    images: tuple[CaseImage, ...] = ()
    options: dict[str, str] | None = Field(default=None, description="MCQ options by letter")
    ground_truth: GroundTruth

    @field_validator("options")
    @classmethod
    def _options_not_empty(cls, options: dict[str, str] | None) -> dict[str, str] | None:
        if options is not None and not options:
            raise ValueError("options must be omitted or hold at least one option")
        return options

    @model_validator(mode="after")
    def _caregiver_named(self) -> Case:
        if self.informant == "caregiver" and not self.caregiver:
            raise ValueError("a case told by a caregiver must name the caregiver (e.g. 'mother')")
        return self

    # The views hold fields this case has already validated: built without validating again,
    # since every consultation asks for them.
    def patient_view(self) -> PatientView:
        return trusted(
            PatientView,
            case_id=self.id,
            demographics=self.demographics,
            informant=self.informant,
            caregiver=self.caregiver,
            opening_statement=self.opening_statement,
            facts=self.facts,
        )

    def measurement_view(self) -> MeasurementView:
        return trusted(
            MeasurementView, case_id=self.id, exam=self.exam, tests=self.tests, images=self.images
        )

    def doctor_view(self, show_options: bool = False) -> DoctorView:
        return trusted(
            DoctorView,
            case_id=self.id,
            demographics=self.demographics,
            doctor_brief=self.doctor_brief,
            options=self.options if show_options else None,
            has_images=bool(self.images),
        )


class PatientView(Frozen):
    """What a simulated patient knows: its history, never the diagnosis."""

    case_id: str
    demographics: Demographics
    informant: Literal["self", "caregiver"]
    caregiver: str | None
    opening_statement: str
    facts: tuple[Fact, ...]


class MeasurementView(Frozen):
    """What the examination room and the laboratory can return."""

    case_id: str
    exam: tuple[ExamFinding, ...]
    tests: tuple[TestResult, ...]
    images: tuple[CaseImage, ...]


class DoctorView(Frozen):
    """What the doctor knows before asking anything."""

    case_id: str
    demographics: Demographics
    doctor_brief: str
    options: dict[str, str] | None
    has_images: bool
