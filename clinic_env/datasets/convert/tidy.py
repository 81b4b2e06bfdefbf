"""Telling a record's values from the text around them that is no value.

Foreign records hold placeholders ("N/A", "Data not provided"), a model's refusals kept in
place of findings ("The provided text does not include specific test results") and, in text
written to a patient actor, role-play instructions ("Remember, you are not aware of your
diagnosis"). None of these is a finding or a patient fact. Converters and the fidelity audit
both call :func:`tidy`, so what the audit counts as dropped is exactly what the converters
drop, and everything else must reach the case verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from clinic_env.datasets.convert.rules import Rules

DropReason = Literal["placeholder", "refusal", "role-play"]
DROP_REASONS: tuple[DropReason, ...] = DropReason.__args__  # type: ignore[attr-defined]

_MARKUP = re.compile(r"\*\*|__")
_BULLET = re.compile(r"^(?:[-*•]\s+)+")


def clean(text: str) -> str:
    """Single spaces, markdown emphasis and a leading list bullet removed, no trailing ';' or
    ','. Signs are values: "-5" keeps its minus and "O-" its suffix."""
    text = " ".join(_MARKUP.sub("", text).split())
    return _BULLET.sub("", text).rstrip(" ;,")


@dataclass(frozen=True, slots=True)
class Tidied:
    """What one value or sentence leaves for the case, and why the rest was dropped."""

    kept: tuple[str, ...] = ()
    dropped: tuple[DropReason, ...] = ()


def tidy(text: str, rules: Rules, *, role_play: bool = False) -> Tidied:
    """The texts a case keeps from one value or sentence.

    Args:
        text: one value, or one sentence of a longer text.
        rules: the conversion rules.
        role_play: the text was written to a patient actor, so role-play preambles are
            removed, framing ("You are playing the role of a ...") is reworded as a statement
            and instructions are dropped.
    """
    text = clean(text)
    if not text:
        return Tidied()
    if rules.is_placeholder(text):
        return Tidied(dropped=("placeholder",))
    if rules.is_refusal(text):
        return Tidied(dropped=("refusal",))
    dropped: list[DropReason] = []
    for pattern in rules.refusal_remarks:
        text, count = pattern.subn("", text)
        dropped += ["refusal"] * count
    pieces = [text]
    if role_play:
        pieces, more = _unplay(text, rules)
        dropped += more
    kept = [clean(piece) for piece in pieces]
    for piece in kept:
        if piece and rules.is_placeholder(piece):
            dropped.append("placeholder")
    return Tidied(
        kept=tuple(p for p in kept if p and not rules.is_placeholder(p)), dropped=tuple(dropped)
    )


def _unplay(text: str, rules: Rules) -> tuple[list[str], list[DropReason]]:
    """Preamble removed and framing reworded; an instruction is dropped, except for clauses
    after ", but" that read as statements ("..., but you know you have an IUD")."""
    dropped: list[DropReason] = []
    for pattern in rules.preambles:
        text, count = pattern.subn("", text, count=1)
        dropped += ["role-play"] * count
    for pattern, replacement in rules.framing:
        text, count = pattern.subn(replacement, text, count=1)
        dropped += ["role-play"] * count
    if not rules.is_instruction(text):
        return [text], dropped
    clauses = rules.clause_break.split(text)
    kept = [
        clause
        for index, clause in enumerate(clauses)
        if (index == 0 or rules.statement_start.match(clause)) and not rules.is_instruction(clause)
    ]
    dropped += ["role-play"] * (len(clauses) - len(kept))
    return kept, dropped
