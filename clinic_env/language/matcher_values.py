"""Value answers for the diagnosis matcher: numbers, signs and symbols compared exactly.

A multiple-choice answer or a dataset's reference may be a value ("-0.45", "2.5 mg", "80/55",
"↓ ↓ ↑ ↓") rather than a disease name. Folding would drop its sign, decimal point or arrows,
so that "0.45" would match "-0.45"; a value is therefore read into tokens here and matched
only by the same tokens. A number inside a name ("type 2 diabetes", "COVID-19") is no value.
"""

from __future__ import annotations

import re

from clinic_env.language.matcher_rules import strip_hedges, strip_list_markers
from clinic_env.language.text import fold

__all__ = ["value_key", "value_tokens"]

# A value answer ("-0.45", "2.5 mg", "80/55", "45%", "↓ ↓ ↑ ↓"): numbers with their sign,
# decimals, ratios and percent, arrows and comparison signs, and words. A sign or digit
# glued to a word ("COVID-19", "22q11.2", "HHV-6") is part of a name, not a value.
_VALUE_TOKEN = re.compile(r"(?<![\w.])[-−–+]?\d+(?:[.,:/]\d+)*(?:\s*%)?|[↑↓→←±<>≤≥=]|[^\W\d_]+")
_EXACT_VALUE = re.compile(r"(?<![\w.])(?:[-−–+]\d|\d+(?:[.,:/]\d|\s*%))|[↑↓→←±<>≤≥=]")
_NUMBER_THEN_WORD = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s*([^\W\d_]+)")


def value_tokens(text: str) -> tuple[str, ...]:
    """The numbers (sign kept), symbols and folded words of ``text`` in order, less list
    markers and hedges: what a value answer is compared by."""
    text = strip_list_markers(text, keep_sign=True)
    tokens: list[str] = []
    for found in _VALUE_TOKEN.finditer(text):
        token = found.group()
        if token[0].isdigit() or token[0] in "-−–+":
            tokens.append(token.replace("−", "-").replace("–", "-").replace(" ", ""))
        elif token.isalpha():
            tokens.extend(fold(token).split())
        else:
            tokens.append(token)
    return tuple(strip_hedges(tokens))


def value_key(text: str, units: frozenset[str]) -> tuple[str, ...] | None:
    """The tokens of ``text`` when it states a value that only the same value matches: a
    signed or decimal number, a ratio, a percentage, an arrow or comparison sign, or a
    number with a unit ("2 mg"); None for a name, even one holding a number ("type 2
    diabetes", "trisomy 21")."""
    if _EXACT_VALUE.search(text) or any(
        fold(unit) in units for unit in _NUMBER_THEN_WORD.findall(text)
    ):
        return value_tokens(text)
    return None
