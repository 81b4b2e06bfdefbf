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


class CatalogTest(Frozen):
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    kind: Literal["laboratory", "imaging", "bedside", "pathology", "microbiology", "physiology"]
    cost_usd: float = Field(ge=0)
    turnaround_hours: float = Field(ge=0)


class TestCatalog(Frozen):
    tests: tuple[CatalogTest, ...] = Field(min_length=1)


class ExamSystem(Frozen):
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class ExamCatalog(Frozen):
    systems: tuple[ExamSystem, ...] = Field(min_length=1)
