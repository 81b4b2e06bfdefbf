"""The medical knowledge the offline agents share: diseases, a test catalogue, exam systems.

Written for this project as content under ``agents/knowledge/``. Scripted doctors rank a
differential over the disease list; the measurement agent resolves test and exam names
(abbreviations, synonyms) through the catalogue. None of it is derived from any case.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clinic_env.schema.base import Frozen

Prevalence = Literal["common", "uncommon", "rare"]
AgeGroup = Literal["infant", "child", "adolescent", "adult", "older_adult"]


class SupportingTest(Frozen):
    """A test that helps confirm a disease, and the result words that point to it."""

    test: str = Field(min_length=1, description="a test name from the catalogue")
    supports: tuple[str, ...] = Field(min_length=1)


class Disease(Frozen):
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    specialty: str = Field(min_length=1)
    prevalence: Prevalence
    age_groups: tuple[AgeGroup, ...] = Field(min_length=1)
    sex: Literal["any", "female", "male"] = "any"
    findings: tuple[str, ...] = Field(min_length=3, description="typical symptoms and signs")
    tests: tuple[SupportingTest, ...] = Field(min_length=1)


class DiseaseFile(Frozen):
    diseases: tuple[Disease, ...] = Field(min_length=1)


TestKind = Literal[
    "laboratory", "imaging", "bedside", "pathology", "microbiology", "physiology", "procedure"
]


class CatalogTest(Frozen):
    """One orderable test: the names a doctor may use for it, and where else it is reported."""

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    kind: TestKind
    cost_usd: float = Field(ge=0)
    turnaround_hours: float = Field(ge=0)
    components: tuple[str, ...] = Field(
        default=(),
        description="catalogue tests this panel reports: ordered alone, one is answered from "
        "the panel's recorded text; the panel ordered is answered from its recorded parts",
    )
    reported_as: tuple[str, ...] = Field(
        default=(),
        description="words, besides its names, by which a panel's result text reports it",
    )


class NameRules(Frozen):
    """How loosely a test name may be written and still mean one catalogue entry."""

    ignored: tuple[str, ...] = Field(
        default=(), description="words that never change which test is meant (serum, level)"
    )
    modifiers: tuple[str, ...] = Field(
        default=(),
        description="words a request may add to an entry's name and still mean "
        "it (side, view, contrast); no other difference is tolerated",
    )
    distinctive: tuple[str, ...] = Field(
        default=(),
        description="words naming a site, specimen or modality: a name left with only one of "
        "these once ignored words are gone ('thyroid test') is too vague to resolve loosely",
    )
    word_forms: dict[str, str] = Field(
        default_factory=dict, description="spellings of one word or phrase (xray: x ray)"
    )


class TestCatalog(Frozen):
    names: NameRules = NameRules()
    tests: tuple[CatalogTest, ...] = Field(min_length=1)


class ExamSystem(Frozen):
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class ExamManoeuvre(Frozen):
    """A bedside sign or manoeuvre a case reports inside its examination findings."""

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    reported_as: tuple[str, ...] = Field(
        default=(), description="words, besides its names, by which a finding reports it"
    )
    test: str | None = Field(
        default=None, description="the catalogue test it answers when ordered as a test"
    )


class ExamCatalog(Frozen):
    systems: tuple[ExamSystem, ...] = Field(min_length=1)
    manoeuvres: tuple[ExamManoeuvre, ...] = ()
