"""Pieces every converter shares: readable names, nested values as text, sentences,
demographics, test prices, and building a valid :class:`Case` or reporting why not.

Foreign records hold strings where dicts were expected and the reverse, numbers, nulls and
lists nested to any depth, so everything here accepts any JSON value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from clinic_env.datasets.convert.rules import Rules
from clinic_env.datasets.defects import Defect, DefectKind
from clinic_env.language.knowledge import test_catalog, test_resolver
from clinic_env.language.text import STOP_WORDS, fold
from clinic_env.schema.case import Case, Demographics, Fact, Sex, Source, TestResult


@dataclass
class RecordContext:
    """One record being converted: where it came from, and the defects found in it."""

    dataset: str
    version: str
    line: int
    case_id: str
    rules: Rules
    defects: list[Defect] = field(default_factory=list)
    record_id: str | None = None

    def report(
        self, kind: DefectKind, detail: str, where: str | None = None, *, skipped: bool = False
    ) -> None:
        self.defects.append(
            Defect(
                dataset=self.dataset,
                line=self.line,
                case_id=self.case_id,
                kind=kind,
                detail=detail,
                where=where,
                skipped=skipped,
            )
        )

    def source(self) -> Source:
        return Source(
            dataset=self.dataset, version=self.version, line=self.line, record_id=self.record_id
        )

    def build(self, **fields: Any) -> Case | None:
        """The case, or None with an ``invalid_record`` defect when it would not validate."""
        try:
            return Case(id=self.case_id, source=self.source(), **fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()
            )
            self.report("invalid_record", problems, skipped=True)
            return None


def case_id(dataset: str, key: object) -> str:
    """A case id valid in the schema, from the dataset name and the record's id or line."""
    raw = f"{dataset}-{key}"
    cleaned = re.sub(r"[^A-Za-z0-9_.:-]+", "-", raw).strip("-._:")
    return cleaned if cleaned[:1].isalnum() else f"case-{cleaned}"


# ----------------------------------------------------------------------------- text shaping
def readable(key: str, *, lower: bool = False) -> str:
    """``Complete_Blood_Count`` -> ``Complete blood count``; acronyms (CT, pH, HbA1c) kept."""
    words = key.replace("_", " ").split()
    shaped = [w if any(c.isupper() for c in w[1:]) else w.lower() for w in words]
    if shaped and not lower and shaped[0].islower():
        shaped[0] = shaped[0][:1].upper() + shaped[0][1:]
    return " ".join(shaped)


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]


def clean(text: str) -> str:
    """Single spaces, markdown emphasis removed, no stray punctuation at the ends."""
    text = text.replace("**", "").replace("__", "")
    return " ".join(text.split()).strip(" -;,")


def render(value: Any, rules: Rules) -> str:
    """Any JSON value as one line of text; placeholders and empty parts are left out."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        text = clean(value)
        return "" if rules.is_placeholder(text) else text
    if isinstance(value, list | tuple):
        return "; ".join(filter(None, (render(item, rules) for item in value)))
    if isinstance(value, dict):
        parts = [(str(key), render(item, rules)) for key, item in value.items()]
        parts = [(key, text) for key, text in parts if text]
        if len(parts) == 1 and rules.is_generic(parts[0][0]):
            return parts[0][1]
        return "; ".join(
            text if rules.is_generic(key) else f"{readable(key)}: {text}" for key, text in parts
        )
    return clean(str(value))


def items_of(value: Any, rules: Rules) -> list[str]:
    """A value as separate statements: each list item, each dict entry, or the text itself."""
    if isinstance(value, list | tuple):
        return [text for item in value for text in items_of(item, rules)]
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            text = render(item, rules)
            if text:
                found.append(text if rules.is_generic(str(key)) else f"{readable(key)}: {text}")
        return found
    text = render(value, rules)
    return [text] if text else []


_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[\"“(]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|St|vs|approx|No|Fig|e\.g|i\.e)|\b[A-Z])\.$")
_NUMBERING = re.compile(r"^\s*\d{1,3}\s*[.)]\s+")


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph, not split after titles, initials or "e.g."."""
    pieces: list[str] = []
    for piece in _SPLIT.split(clean(text)):
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        elif piece.strip():
            pieces.append(piece.strip())
    return pieces


def strip_numbering(text: str) -> str:
    """``"3. The man had ..."`` -> ``"The man had ..."``."""
    return _NUMBERING.sub("", text, count=1).strip()


def categorised(texts: Sequence[str], rules: Rules) -> list[Fact]:
    """Facts from free-text statements, each put in the category its words point to."""
    facts = []
    for text in texts:
        category = rules.sentence_category(text) or "history_of_present_illness"
        facts.append(Fact(category=category, text=text))
    return facts


def first_as_complaint(facts: list[Fact]) -> list[Fact]:
    """Make sure some fact is the presenting complaint (the first story fact, if none is)."""
    if any(f.category == "presenting_complaint" for f in facts) or not facts:
        return facts
    index = next((i for i, f in enumerate(facts) if f.category == "history_of_present_illness"), 0)
    first = facts[index]
    return [
        *facts[:index],
        Fact(category="presenting_complaint", text=first.text, says=first.says),
        *facts[index + 1 :],
    ]


# ------------------------------------------------------------------------------ demographics
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
_FEMALE = frozenset({"female", "woman", "women", "girl", "lady", "primigravida", "pregnant"})
_MALE = frozenset({"male", "man", "men", "boy", "gentleman"})


def _years(number: str, unit: str | None) -> float:
    letter = (unit or "y")[0].lower()
    if unit and unit.lower().startswith("mo"):
        letter = "m"
    return float(number) / _PER_YEAR.get(letter, 1.0)


def parse_age(text: str, *, loose: bool = False) -> float | None:
    """Age in years from "35-year-old", "aged 40", "8 months" (``loose``), or "newborn"."""
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
    return next((age for word, age in _AGE_WORDS.items() if word in words), None)


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


# ------------------------------------------------------------------------ answers and tests
_PARENTHESIS = re.compile(r"^(?P<head>.*?\S)\s*[(\[](?P<inner>[^()\[\]]+)[)\]]\W*$")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9-]{2,9}")


def diagnosis_aliases(diagnosis: str) -> tuple[str, ...]:
    """ "Progressive multifocal encephalopathy (PML)" is also named by its head and acronym."""
    match = _PARENTHESIS.match(diagnosis.strip())
    if match is None:
        return ()
    names = [match["head"]]
    inner = match["inner"].strip()
    if _ACRONYM.fullmatch(inner) and fold(inner) not in STOP_WORDS:
        names.append(inner)
    return tuple(n for n in names if fold(n) and fold(n) != fold(diagnosis))


def make_test(name: str, result: str, aliases: Sequence[str], rules: Rules) -> TestResult:
    """A case test priced from the catalogue when its name resolves, else at the default."""
    resolver = test_resolver()
    canonical = next(filter(None, map(resolver.resolve, (name, *aliases))), None)
    listed = test_catalog().get(canonical) if canonical else None
    unique = tuple(dict.fromkeys(a for a in aliases if fold(a) and fold(a) != fold(name)))
    return TestResult(
        name=name,
        aliases=unique,
        result=result,
        cost_usd=listed.cost_usd if listed else rules.defaults.test_cost_usd,
        turnaround_hours=listed.turnaround_hours
        if listed
        else rules.defaults.test_turnaround_hours,
    )
