"""Reading a doctor's question the way it was meant: shorthand written out, slips of the
keyboard read as the word meant (and real words left alone), cue phrases across a clause
break, two word groups that together ask about a category, and questions about how the
complaint behaves."""

from pathlib import Path

import pytest
import yaml

from clinic_env.content import content_path
from clinic_env.errors import ContentError
from clinic_env.language.lexicon import LexiconFile, lexicon

DICTIONARIES = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english"))
SPELLINGS = frozenset(("homoeopathic", "marihuana", "rigours"))
"""Dictionary words that are another spelling of the lexicon word they are read as."""


def topics(question: str) -> frozenset[str]:
    return lexicon().question(question).topics


@pytest.mark.parametrize(
    ("question", "category"),
    [
        ("Any PMH?", "past_history"),
        ("Tell me about your PMHx.", "past_history"),
        ("What meds are you on?", "medications"),
        ("Any OTC meds?", "medications"),
        ("Any FHx of heart disease?", "family"),
        ("How much ETOH?", "social"),
        ("Any cigs?", "social"),
        ("What do u do for work?", "social"),
    ],
)
def test_shorthand_is_written_out_before_the_question_is_read(question, category):
    assert category in topics(question)


def test_facts_get_the_same_shorthand_so_both_sides_agree():
    words = lexicon()
    assert "#breath" in words.terms("SOB on exertion")
    assert words.terms("Any SOB?") & words.terms("short of breath walking uphill") >= {"#breath"}
    assert "#alcohol" in words.terms("Denies ETOH")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("alergies", "allergies"),
        ("histroy", "history"),
        ("smkoe", "smoke"),
        ("medecines", "medicines"),
        ("occupaton", "occupation"),
        ("contaception", "contraception"),
        ("alchohol", "alcohol"),
        ("coughign", "coughing"),
    ],
)
def test_a_slip_of_the_keyboard_in_a_longer_word_is_read_as_the_word_meant(typed, meant):
    assert lexicon().correct(typed) == meant


@pytest.mark.parametrize(
    "word",
    # real words one letter from a lexicon word, forms of known words, short words, and
    # two slips in one word
    ["fight", "tables", "though", "bother", "tried", "admissions", "smoked", "fevr", "alrgeis"],
)
def test_real_words_short_words_and_worse_slips_are_left_alone(word):
    assert lexicon().correct(word) == word


def test_a_question_with_a_slip_asks_what_it_would_ask_spelt_right():
    words = lexicon()
    for typed, right in (
        ("Do you have any alergies?", "Do you have any allergies?"),
        ("Any past medical histroy?", "Any past medical history?"),
        ("Do you smkoe?", "Do you smoke?"),
    ):
        assert words.question(typed).topics == words.question(right).topics
        assert words.question(typed).groups == words.question(right).groups


@pytest.mark.skipif(not all(p.exists() for p in DICTIONARIES), reason="no spelling dictionary")
def test_every_dictionary_word_the_reader_would_take_for_a_slip_is_listed_as_known():
    words = lexicon()
    english = set()
    for path in DICTIONARIES:
        for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
            word = line.strip()
            if word.isalpha() and word.islower() and word.isascii():
                english.add(word)
    misread = sorted(w for w in english - SPELLINGS if words.correct(w) != w)
    assert not misread, f"add to known_words in lexicon.yaml: {', '.join(misread)}"


def test_a_cue_phrase_across_a_clause_break_is_still_heard():
    assert "past_history" in topics("Are you normally fit and well?")
    assert "past_history" in topics("Are you usually fit and well, apart from this?")


def test_a_medicine_with_a_rash_asks_about_allergies_not_the_medication():
    assert topics("Did any medicine ever bring you out in a rash?") & {
        "allergies",
        "medications",
    } == {"allergies"}
    assert "allergies" in topics("Any drug reactions?")
    assert "medications" in topics("Do you take anything for the rash?")


def test_pairs_of_words_inside_an_illness_name_do_not_change_what_is_asked():
    name = "Have you had drug reaction with eosinophilia and systemic symptoms before?"
    asked = lexicon().question(name)
    assert asked.named
    assert "allergies" not in asked.topics


def test_how_the_complaint_behaves_is_asked_about_the_illness_now():
    for question in ("Is it there all the time?", "Is it constant?", "Does it come and go?"):
        assert "history_of_present_illness" in topics(question), question


def test_a_generic_word_alone_names_no_illness():
    asked = lexicon().question("Any diseases in the family?")
    assert not asked.named
    assert asked.topics & lexicon().history_categories == {"family"}
    assert lexicon().question("Any heart disease in the family?").topics >= {"family"}


def test_a_history_question_with_a_symptom_clause_keeps_that_clause():
    asked = lexicon().question("Any fever, and do you smoke?")
    assert asked.symptoms is not None
    assert "#fever" in asked.symptoms.terms
    assert lexicon().question("Do you use any inhalers, creams or tablets?").symptoms is None
    assert lexicon().question("Do you smoke or drink?").symptoms is None


def test_a_rewrite_whose_result_is_rewritten_again_is_refused():
    data = yaml.safe_load(content_path("agents", "knowledge", "lexicon.yaml").read_text())
    data["rewrites"] = {**data["rewrites"], "tabs": "tablets meds"}
    with pytest.raises((ContentError, ValueError), match="rewritten again"):
        LexiconFile.model_validate(data)


@pytest.mark.parametrize(
    "symptom", ["dysuria", "diarrhoea", "haematuria", "myalgia", "nocturia", "amenorrhoea"]
)
def test_a_symptom_with_a_diagnosis_ending_asks_about_the_complaint(symptom):
    """ "-uria", "-algia" and "-rrhoea" mark diagnoses, but not the symptoms the lexicon's
    groups hold: "any diarrhoea?" asks about now, not about a past illness."""
    asked = lexicon().question(f"Any {symptom}?")
    assert asked.kind == "ask" and "past_history" not in asked.topics
    assert lexicon().question("Any history of tuberculosis?").topics == {"past_history"}
    assert lexicon().question("Is it cystitis?").kind == "guess"


def test_asking_whether_the_complaint_comes_and_goes_is_no_guess():
    asked = lexicon().question("Is it constant or does it come and go?")
    assert asked.kind == "ask" and "history_of_present_illness" in asked.topics
