"""Who the patient is, read from a foreign record: age, sex, a description, who speaks for a
small child, and whether a sentence says nothing more than that."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from clinic_env.datasets.convert.common import RecordContext
from clinic_env.datasets.convert.rules import Rules
from clinic_env.language.text import STOP_WORDS, fold
from clinic_env.schema.case import Demographics, Sex

_AGE_OLD = re.compile(
    r"(\d+(?:\.\d+)?)[\s-]*(year|yr|month|mo|week|wk|day|hour|hr)s?[\s-]*old", re.IGNORECASE
)
_AGE_LOOSE = re.compile(
    r"(\d+(?:\.\d+)?)\s*-?\s*(years?|yrs?|y/?o|months?|mos?|weeks?|wks?|days?|hours?|hrs?)?\b",
    re.IGNORECASE,
)
_AGED = re.compile(r"\baged?\s*:?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_PER_YEAR = {"y": 1.0, "m": 12.0, "w": 52.0, "d": 365.0, "h": 8760.0}
_AGE_WORDS = {"newborn": 0.0, "neonate": 0.0, "neonatal": 0.0, "infant": 0.5, "toddler": 2.0}
_FIELD_AGE_WORDS = {**_AGE_WORDS, "baby": 0.0}
"""In an age field "Baby" is the patient's age; in a story it may be someone else's."""
_GESTATION = re.compile(r"\bgestation", re.IGNORECASE)
_FEMALE = frozenset({"female", "woman", "women", "girl", "lady", "primigravida", "pregnant"})
_MALE = frozenset({"male", "man", "men", "boy", "gentleman"})


def _years(number: str, unit: str | None) -> float:
    letter = (unit or "y")[0].lower()
    if unit and unit.lower().startswith("mo"):
        letter = "m"
    return float(number) / _PER_YEAR.get(letter, 1.0)


def parse_age(text: str, *, loose: bool = False) -> float | None:
    """Age in years from "35-year-old", "aged 40", "8 months" (``loose``), or "newborn"; a
    gestational age ("Baby (gestational age of 31 weeks)") is no age after birth."""
    field = loose
    if _GESTATION.search(text):
        loose = False
    match = _AGE_OLD.search(text)
    if match is not None:
        return _years(match[1], match[2])
    match = _AGED.search(text)
    if match is not None:
        return float(match[1])
    match = _AGE_LOOSE.search(text) if loose else None
    if match is not None:
        return _years(match[1], match[2])
    words = set(fold(text).split())
    known = _FIELD_AGE_WORDS if field else _AGE_WORDS
    return next((age for word, age in known.items() if word in words), None)


def parse_sex(text: str) -> Sex | None:
    """Sex from the first word that states it ("woman", "boy", "F"), or None."""
    words = fold(text).split()
    if words in (["f"], ["m"]):
        return "female" if words == ["f"] else "male"
    for word in words:
        if word in _FEMALE:
            return "female"
        if word in _MALE:
            return "male"
    return None


def is_identity(text: str, rules: Rules) -> bool:
    """Whether a sentence only says who the patient is: an age, a sex and words such as
    "healthy" ("You are 83 years old.", "You are a healthy 43-year-old woman.")."""
    if parse_age(text) is None:
        return False
    rest = fold(_AGE_OLD.sub(" ", text)).split()
    said = [
        word
        for word in rest
        if word not in STOP_WORDS
        and word not in rules.identity_words
        and word not in _FEMALE | _MALE
        and not word.isdigit()
    ]
    return not said


def age_phrase(age: float) -> str:
    if age >= 2:
        return f"{int(age)}-year-old"
    if age * 12 >= 1:
        return f"{round(age * 12)}-month-old"
    return "newborn" if age * 52 < 1 else f"{round(age * 52)}-week-old"


def describe(age: float | None, sex: Sex) -> str:
    child = age is not None and age < 18
    noun = {"female": "girl" if child else "woman", "male": "boy" if child else "man"}.get(
        sex, "child" if child else "patient"
    )
    return f"{age_phrase(age)} {noun}" if age is not None else f"{noun} of unstated age"


def demographics(
    ctx: RecordContext,
    *,
    age: Any = None,
    sex: Any = None,
    texts: Sequence[str] = (),
    description: str | None = None,
) -> Demographics:
    """Age and sex from the record's fields, else from its text; gaps reported, not fatal."""
    years = parse_age(str(age), loose=True) if age not in (None, "") else None
    for text in texts:
        if years is None:
            years = parse_age(text)
    stated = parse_sex(str(sex)) if sex not in (None, "") else None
    for text in texts:
        stated = stated or parse_sex(text)
    if years is None or years > 125:
        ctx.report("missing_field", "no readable age; a default is used", "demographics")
    if stated is None:
        ctx.report("missing_field", "no readable sex; 'unknown' is used", "demographics")
    valid = years if years is not None and years <= 125 else None
    final_sex: Sex = stated or "unknown"
    return Demographics(
        age_years=valid if valid is not None else ctx.rules.defaults.age_years,
        sex=final_sex,
        description=description or describe(valid, final_sex),
    )


def caregiver(age_years: float, texts: Sequence[str], rules: Rules) -> str | None:
    """Who speaks for a small child: the parent the record mentions, else "parent"."""
    if age_years >= rules.defaults.caregiver_below_years:
        return None
    words = set(fold(" ".join(texts)).split())
    return next((who for who in ("mother", "father") if who in words), "parent")
