"""Phrase sets are matched on word boundaries after folding, anywhere or at the opening."""

from clinic_env.language.rules import (
    fidelity_rules,
    opening_finder,
    phrase_finder,
    says_any,
    starts_with_any,
)

DENIALS = fidelity_rules().denials
ROLE_BREAKS = fidelity_rules().role_breaks


def test_phrases_match_whole_words_after_folding() -> None:
    assert says_any("Well, AS AN AI, I can't say.", ROLE_BREAKS)
    assert not says_any("I was in a role-playing group", ("role play",))
    assert says_any("we did some Role-Play today", ("role play",))
    assert not says_any("Nobody noticed", ("no",))


def test_an_opening_phrase_must_open_the_text() -> None:
    assert starts_with_any("No, never.", DENIALS)
    assert starts_with_any("  I don't, no.", DENIALS)
    assert not starts_with_any("Well, no.", DENIALS)
    assert not starts_with_any("Nobody asked me that.", DENIALS)


def test_finders_answer_as_the_functions_do_and_repeat_their_answers() -> None:
    anywhere, opening = phrase_finder(ROLE_BREAKS), opening_finder(DENIALS)
    texts = ("No, never.", "As an AI language model...", "Well, no.", "", "no", "I never")
    for text in texts:
        assert anywhere[text] == says_any(text, ROLE_BREAKS)
        assert opening[text] == starts_with_any(text, DENIALS)
        assert anywhere[text] == anywhere[text]  # the kept answer is the one worked out
    assert phrase_finder(ROLE_BREAKS) is anywhere  # found once per set, by its identity
