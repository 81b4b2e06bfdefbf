"""Text folding: what "the same words" means to every offline component."""

from __future__ import annotations

import random
import re

import pytest

from clinic_env.language.text import _without_possessives, fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Crohn's disease", "crohn disease"),
        ("CROHN'S", "crohn"),
        ("Crohn’s  disease!", "crohn disease"),
        ("It's the patient's", "it the patient"),
        ("Guillain–Barré", "guillain barre"),
        ("'s alone", "s alone"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_possessives_are_dropped_as_one_left_to_right_substitution_would():
    """The rule is ``re.sub(r"(\\w)['’][sS]\\b", r"\\1", text)``; it is searched from the
    apostrophe, and an "'s" whose word character a dropped one took is kept ("a's's")."""
    rule = re.compile(r"(\w)['’][sS]\b")
    rng = random.Random(0)
    for _ in range(20000):
        text = "".join(rng.choices("as'’S _é1", k=rng.randint(0, 12)))
        assert _without_possessives(text) == rule.sub(r"\1", text), text
    assert _without_possessives("a's's") == "a's"
