"""A last line of defence: withhold any mention of the ground truth on its way to the doctor.

Case data is audited so that it does not name the diagnosis, and offline agents only speak
case data; but imported datasets sometimes name it in a test result, and model-backed agents
can say anything. Every text bound for the doctor passes through :class:`LeakGuard`, which
replaces mentions of the diagnosis or its aliases (matched after folding case, accents and
possessives) and reports that it did.

The guard works on text the simulator made from case data, never on words the doctor wrote.
A reply that echoes the doctor's request ("REQUEST TEST: <name>") or a model that repeats the
doctor's question must treat the true name exactly like any other, or the guard becomes an
answer oracle: a policy names every candidate and picks the one that comes back withheld. So
:meth:`LeakGuard.scrub` leaves alone the regions a caller marks as not case data (``spare``)
and the names the doctor itself used (``spare_names``, from :meth:`LeakGuard.names_in`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from clinic_env.language.text import fold
from clinic_env.schema.case import Case


class _CharFolding(dict[int, str]):
    """A ``str.translate`` table folding one character to one character (so positions in the
    folded text match the original): lower-case, accents dropped, anything else a space.
    Entries are computed on first sight of a character and kept."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
        folded = base[0] if base[:1].isalnum() and base[0].isascii() else " "
        self[code] = folded
        return folded


_FOLDING = _CharFolding()


def _pattern(name: str) -> str | None:
    tokens = fold(name).split()
    if not tokens:
        return None
    possessive = r"(?:\s*s)?"
    return (possessive + r"\s+").join(map(re.escape, tokens)) + possessive


class LeakGuard:
    """Finds and withholds the names of one case's diagnosis in outgoing text."""

    def __init__(self, names: Iterable[str], replacement: str) -> None:
        names = tuple(names)
        patterns = sorted(filter(None, map(_pattern, names)), key=len, reverse=True)
        self.replacement = replacement
        self._each = tuple(
            (fold(name), re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])"))
            for name in names
            if (pattern := _pattern(name))
        )
        self._regex = (
            re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z0-9])")
            if patterns
            else None
        )
        # Any mention holds the first few letters of some name's first word: a cheap test that
        # lets almost every clean ASCII text through without folding it.
        self._prefixes = tuple({fold(name).split()[0][:4] for name in names if fold(name)})

    def names_in(self, text: str) -> frozenset[str]:
        """The (folded) names of the diagnosis that ``text`` mentions: what the doctor said
        itself, and may therefore hear back unwithheld."""
        if not self._may_mention(text):
            return frozenset()
        folded = text.translate(_FOLDING)
        return frozenset(name for name, regex in self._each if regex.search(folded))

    def _is_spared_name(self, mention: str, spare_names: frozenset[str]) -> bool:
        """Whether the whole mention is one of the names the doctor used itself."""
        return any(
            name in spare_names and regex.fullmatch(mention) for name, regex in self._each
        )

    def _may_mention(self, text: str) -> bool:
        if self._regex is None or not text:
            return False
        if text.isascii():
            lowered = text.lower()
            return any(prefix in lowered for prefix in self._prefixes)
        return True

    def scrub(
        self, text: str, spare: Iterable[str] = (), spare_names: frozenset[str] = frozenset()
    ) -> tuple[str, bool]:
        """The text with every mention withheld, and whether there was any.

        Args:
            text: the outgoing text.
            spare: phrases of ``text`` that are not case data (the doctor's request echoed, a
                catalogue name); a mention inside one of them is left as it is.
            spare_names: names (from :meth:`names_in`) the doctor used itself; a mention of
                one of them is left as it is.
        """
        if not self._may_mention(text):
            return text, False
        assert self._regex is not None
        folded = text.translate(_FOLDING)
        spans = [match.span() for match in self._regex.finditer(folded)]
        if spans and (spare or spare_names):
            regions = _regions(folded, spare)
            spans = [
                (start, end)
                for start, end in spans
                if not any(low <= start and end <= high for low, high in regions)
                and not self._is_spared_name(folded[start:end], spare_names)
            ]
        if not spans:
            return text, False
        pieces, last = [], 0
        for start, end in spans:
            pieces.append(text[last:start])
            pieces.append(self.replacement)
            last = end
        pieces.append(text[last:])
        return "".join(pieces), True


def _regions(folded: str, phrases: Iterable[str]) -> list[tuple[int, int]]:
    """Where each phrase occurs in ``folded`` text (folded the same way, any spacing)."""
    regions = []
    for phrase in phrases:
        words = phrase.translate(_FOLDING).split()
        if words:
            pattern = r"\s+".join(map(re.escape, words))
            regions += [match.span() for match in re.finditer(pattern, folded)]
    return regions


@functools.lru_cache(maxsize=4096)
def leak_guard(names: tuple[str, ...], replacement: str) -> LeakGuard:
    """The guard for one set of names, built once (cases are replayed many times)."""
    return LeakGuard(names, replacement)


_WITHHELD_CACHE_SIZE = 4096
_WITHHELD: dict[int, tuple[Case, Case]] = {}


def withheld_case(case: Case, guard: LeakGuard) -> Case:
    """The case as the roles receive it: every mention of the answer withheld from the brief,
    the opening, the facts, the exam and the test results before any agent sees them.

    Test names and aliases stay as they are, so a test is still found by the name the doctor
    orders it by; the measurement agent shows catalogue names and the session's guard still
    runs on its replies. Scrubbing here, not only on the way out, keeps the answer out of
    model prompts and means nothing the doctor says can make case data come back unwithheld.
    """
    cached = _WITHHELD.get(id(case))
    if cached is not None and cached[0] is case:
        return cached[1]

    def scrub(text: str) -> str:
        return guard.scrub(text)[0]

    withheld = case.model_copy(
        update={
            "doctor_brief": scrub(case.doctor_brief),
            "opening_statement": scrub(case.opening_statement),
            "facts": tuple(
                fact.model_copy(
                    update={
                        "text": scrub(fact.text),
                        "says": scrub(fact.says) if fact.says is not None else None,
                    }
                )
                for fact in case.facts
            ),
            "exam": tuple(
                finding.model_copy(
                    update={"name": scrub(finding.name), "finding": scrub(finding.finding)}
                )
                for finding in case.exam
            ),
            "tests": tuple(
                test.model_copy(update={"result": scrub(test.result)}) for test in case.tests
            ),
            "images": tuple(
                image.model_copy(update={"kind": scrub(image.kind)}) for image in case.images
            ),
        }
    )
    if len(_WITHHELD) >= _WITHHELD_CACHE_SIZE:
        _WITHHELD.clear()
    _WITHHELD[id(case)] = (case, withheld)
    return withheld


def case_guard(case: Case, replacement: str) -> LeakGuard:
    """The guard for one case's answer: its diagnosis and aliases. An answer that is not a
    diagnosis (a drug, a mechanism, a number: MediQ asks for those) is not withheld, since
    the patient's own medication list or results would otherwise be cut to pieces."""
    truth = case.ground_truth
    if truth.answer_kind != "diagnosis":
        return leak_guard((), replacement)
    return leak_guard((truth.diagnosis, *truth.aliases), replacement)
