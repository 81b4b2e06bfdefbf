import pytest

from clinic_env.language.leak import LeakGuard


@pytest.fixture
def guard() -> LeakGuard:
    return LeakGuard(["Crohn's disease", "Guillain–Barré syndrome", "PE"], "[withheld]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It might be CROHN'S disease.", "It might be [withheld]."),
        ("crohns disease", "[withheld]"),
        ("Crohn disease, flaring", "[withheld], flaring"),
        ("Guillain-Barre syndrome", "[withheld]"),
        ("guillain barré  syndrome!", "[withheld]!"),
        ("likely a PE, or not", "likely a [withheld], or not"),
    ],
)
def test_mentions_are_withheld(guard, text, expected):
    assert guard.scrub(text) == (expected, True)


@pytest.mark.parametrize("text", ["People eat", "Crohn", "pulmonary", "", "spelled P E"])
def test_non_mentions_pass_untouched(guard, text):
    assert guard.scrub(text) == (text, False)


def test_guard_without_names_is_a_no_op():
    assert LeakGuard([], "x").scrub("anything") == ("anything", False)
