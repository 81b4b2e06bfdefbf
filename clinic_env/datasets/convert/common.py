"""Pieces every converter shares: readable names, nested values as text, sentences and list
items, values and answers compared with their signs, test prices, and building a valid
:class:`Case` or reporting why not (who the patient is: :mod:`.people`).

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
from clinic_env.datasets.convert.tidy import clean, tidy
from clinic_env.datasets.defects import Defect, DefectKind
from clinic_env.language.knowledge import test_catalog, test_resolver
from clinic_env.language.text import STOP_WORDS, fold
from clinic_env.schema.case import Case, Fact, Source, TestResult


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
    """``Complete_Blood_Count`` -> ``Complete blood count``; acronyms (CT, pH, HbA1c), letters
    and codes (Hepatitis B, Free T4, Vitamin B12) kept."""
    words = key.replace("_", " ").split()
    shaped = [w if _kept_case(w) else w.lower() for w in words]
    if shaped and not lower and shaped[0].islower():
        shaped[0] = shaped[0][:1].upper() + shaped[0][1:]
    return " ".join(shaped)


def _kept_case(word: str) -> bool:
    capitals = any(c.isupper() for c in word)
    return any(c.isupper() for c in word[1:]) or (
        capitals and (len(word) == 1 or any(c.isdigit() for c in word))
    )


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]


def scalar_text(value: Any) -> str:
    """A JSON scalar as text, exactly as the record states it (a float keeps every digit)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def answer_texts(value: Any) -> list[str]:
    """An answer or its options as written: every string in it, cleaned, nothing dropped (an
    option may well read "I am unable to provide that information")."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [text for item in value for text in answer_texts(item)]
    text = clean(value) if isinstance(value, str) else scalar_text(value)
    return [text] if text else []


def same_text(first: str, second: str) -> bool:
    """Whether two answers say the same: folded when they have words, else exactly (so
    "-0.45" and "0.45", or two rows of arrows, are never taken for each other)."""
    a, b = fold(first), fold(second)
    if a and b and not any(c.isdigit() for c in first + second):
        return a == b
    return " ".join(first.casefold().split()) == " ".join(second.casefold().split())


def render(value: Any, rules: Rules) -> str:
    """Any JSON value as one line of text; placeholders, refusals and empty parts are left
    out (see :func:`~clinic_env.datasets.convert.tidy.tidy`), everything else kept verbatim."""
    if value is None or isinstance(value, bool | int | float):
        return scalar_text(value)
    if isinstance(value, str):
        return " ".join(text for s in sentences(value) for text in tidy(s, rules).kept)
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
_ABBREVIATION = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|St|vs|approx|No|Fig|e\.g|i\.e)|(?:^|\s)[A-Z])\.$")
"""A piece ending in a title or an initial ("Dr.", " J."), not a unit ("38.1°C.")."""
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


_ITEM_BREAK = re.compile(r"\s+-\s+|^\s*\d{1,2}\.\s+|(?<=[.:])\s+\d{1,2}\.\s+(?=[A-Z*])")
"""Where list items part: " - ", or a number opening a line or following a full stop or
colon ("... nodules. 2. Biopsy: ..."), never a number inside a sentence ("type 1. She")."""
_GLUED_HEADER = re.compile(r"^(?P<body>[^:]{2,100}:.*\S)\s+(?P<header>[A-Z][^.:]{0,60}:)$")
LABEL = re.compile(r"^(?P<label>[^:]{2,100}):\s*(?P<text>.*)$", re.DOTALL)
"""A "Label: text" item."""


def items_in(text: str) -> list[str]:
    """List items and sentences of a text written as a list (one item a line, or " - a - b",
    "1. a 2. b"). Headers ("Imaging results:") are items of their own, also when glued to
    the end of the item before."""
    found: list[str] = []
    for line in text.splitlines():
        for chunk in _ITEM_BREAK.split(clean(line)):
            for sentence in map(clean, sentences(chunk)):
                glued = _GLUED_HEADER.match(sentence)
                found += [glued["body"], glued["header"]] if glued else [sentence] * bool(sentence)
    return found


MAX_LABEL_WORDS = 8
"""Words a label ("Skin biopsy of the right shin:") has at most."""


def is_header(item: str) -> bool:
    """A short item ending with a colon: the title of what follows, no value itself."""
    return item.endswith(":") and len(item.split()) <= MAX_LABEL_WORDS


_VALUE = re.compile(r"(?<![\w.])[-−+]?\d[\w.,/:%]*|[↑↓→←]")


def value_tokens(text: str) -> list[str]:
    """The numbers of a text with their signs and units or suffixes ("-5", "0.45", "80/55",
    "99th", "10mg"), and its arrows: what must never be lost."""
    return [token.rstrip(".,:/") for token in _VALUE.findall(text)]


def values_missing_from(sentences: Sequence[str], statements: Sequence[str]) -> list[str]:
    """The sentences holding a number or arrow that none of the statements holds. MediQ's
    atomic facts and NEJM's patient text were written from a vignette by a model and
    sometimes leave a value out; such a sentence is kept as well."""
    stated = set(value_tokens(" ".join(statements)))
    return [s for s in sentences if any(t not in stated for t in value_tokens(s))]


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


def make_test(
    name: str, result: str, aliases: Sequence[str], rules: Rules, *, group: str | None = None
) -> TestResult:
    """A case test priced from the catalogue when its name resolves, else at the default."""
    resolver = test_resolver()
    canonical = next(filter(None, map(resolver.resolve, (name, *aliases))), None)
    listed = test_catalog().get(canonical) if canonical else None
    unique = tuple(dict.fromkeys(a for a in aliases if fold(a) and fold(a) != fold(name)))
    return TestResult(
        name=name,
        aliases=unique,
        group=group,
        result=result,
        cost_usd=listed.cost_usd if listed else rules.defaults.test_cost_usd,
        turnaround_hours=listed.turnaround_hours
        if listed
        else rules.defaults.test_turnaround_hours,
    )
