"""A last line of defence: withhold any mention of the ground truth on its way to the doctor.

Case data is audited so that it does not name the diagnosis, and offline agents only speak
case data; but imported datasets sometimes name it in a test result, and model-backed agents
can say anything. Every text bound for the doctor passes through :class:`LeakGuard`, which
replaces mentions of the diagnosis or its aliases (matched after folding case, accents and
possessives) and reports that it did.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from clinic_env.language.text import fold


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
        self._regex = (
            re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z0-9])")
            if patterns
            else None
        )
        # Any mention holds the first few letters of some name's first word: a cheap test that
        # lets almost every clean ASCII text through without folding it.
        self._prefixes = tuple({fold(name).split()[0][:4] for name in names if fold(name)})

    def scrub(self, text: str) -> tuple[str, bool]:
        """The text with every mention withheld, and whether there was any."""
        if self._regex is None or not text:
            return text, False
        if text.isascii():
            lowered = text.lower()
            if not any(prefix in lowered for prefix in self._prefixes):
                return text, False
        folded = text.translate(_FOLDING)
        spans = [match.span() for match in self._regex.finditer(folded)]
        if not spans:
            return text, False
        pieces, last = [], 0
        for start, end in spans:
            pieces.append(text[last:start])
            pieces.append(self.replacement)
            last = end
        pieces.append(text[last:])
        return "".join(pieces), True


@functools.lru_cache(maxsize=4096)
def leak_guard(names: tuple[str, ...], replacement: str) -> LeakGuard:
    """The guard for one set of names, built once (cases are replayed many times)."""
    return LeakGuard(names, replacement)
