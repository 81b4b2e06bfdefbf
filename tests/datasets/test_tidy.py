"""What is no value: placeholders, a model's refusals and role-play instructions are dropped,
everything else is kept verbatim, signs and arrows included."""

import pytest

from clinic_env.datasets.convert.common import same_text, value_tokens
from clinic_env.datasets.convert.people import is_identity
from clinic_env.datasets.convert.rules import conversion_rules
from clinic_env.datasets.convert.tidy import clean, tidy

RULES = conversion_rules()


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("-5 mmol/L", "-5 mmol/L"),
        ("−0.45", "−0.45"),
        ("O-", "O-"),
        ("Rh-negative;", "Rh-negative"),
        ("- Bullet item", "Bullet item"),
        ("**Symptoms**:  fever\n and  chills,", "Symptoms: fever and chills"),
        ("↓ ↓ ↑ ↓", "↓ ↓ ↑ ↓"),
    ],
)
def test_clean_keeps_signs_and_symbols(raw: str, kept: str):
    assert clean(raw) == kept


@pytest.mark.parametrize(
    "text",
    ["N/A", "n/a", "NA", "Not provided.", "Data not provided", "Not specified", "-", "--"],
)
def test_placeholders_are_dropped(text: str):
    assert tidy(text, RULES).dropped == ("placeholder",)
    assert tidy(text, RULES).kept == ()


@pytest.mark.parametrize(
    "text",
    [
        "The provided text does not include specific instrument readings or test results.",
        "The information provided does not include specific test results.",
        "Therefore, I cannot generate information based on instrument readings from the text.",
        "No specific results or readings from these procedures are provided.",
        "However, the crystal types are not mentioned in the provided text.",
        "It describes the symptoms but does not mention any laboratory tests.",
        "Result provided but not specified in the extract provided",
        "Laboratory testing results from the case report for an instrument reader are:",
    ],
)
def test_refusals_are_dropped(text: str):
    assert tidy(text, RULES) == tidy(text, RULES, role_play=True)
    assert tidy(text, RULES).dropped == ("refusal",)
    assert tidy(text, RULES).kept == ()


@pytest.mark.parametrize(
    "text",
    [
        "The biopsy does not contain malignant cells.",
        "No fracture is seen.",
        "I cannot walk more than 100 metres without stopping.",
        "None",
        "Not performed",
        "Pending",
        "Her mother provided the history; she does not know the birth weight.",
    ],
)
def test_clinical_text_is_kept_whole(text: str):
    assert tidy(text, RULES).kept == (text,)
    assert tidy(text, RULES).dropped == ()


def test_a_remark_on_what_is_missing_is_trimmed_from_its_value():
    tidied = tidy("Low (specific reference range not provided)", RULES)
    assert (tidied.kept, tidied.dropped) == (("Low",), ("refusal",))


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("You are a patient.", ()),
        ("Act as a worried but polite older woman.", ()),
        ("Respond as the patient would, in plain words.", ()),
        ("Remember, you are not aware of your diagnosis.", ()),
        ("For the patient actor:", ()),
        ("Your character does not know the test results.", ()),
        (
            "For your role as a patient, you are a 55-year-old woman with dark skin patches.",
            ("you are a 55-year-old woman with dark skin patches.",),
        ),
        (
            "You are playing the role of the mother of a 2-year-old boy.",
            ("You are the mother of a 2-year-old boy.",),
        ),
        (
            "You are not aware of the diagnosis, but you know you have an IUD.",
            ("you know you have an IUD.",),
        ),
        ("Remember, you fell at school last week.", ("you fell at school last week.",)),
        ("You have had a rash for three days.", ("You have had a rash for three days.",)),
    ],
)
def test_role_play_is_never_a_patient_fact(text: str, kept: tuple[str, ...]):
    tidied = tidy(text, RULES, role_play=True)
    assert tidied.kept == kept
    assert ("role-play" in tidied.dropped) == (kept != (text,))


def test_role_play_rules_apply_only_to_text_written_to_an_actor():
    fact = "The patient does not know her vaccination status."
    assert tidy(fact, RULES).kept == (fact,)


@pytest.mark.parametrize(
    ("text", "identity"),
    [
        ("You are 83 years old.", True),
        ("You are a healthy 43-year-old woman.", True),
        ("I am a 60-year-old man.", True),
        ("You are a 43-year-old woman with a rash on your shins.", False),
        ("You have had a cough for two weeks.", False),
    ],
)
def test_a_sentence_that_only_says_who_the_patient_is(text: str, identity: bool):
    assert is_identity(text, RULES) is identity


def test_body_systems_are_named_by_whole_words_only():
    systems = RULES.exam_systems
    assert systems.labels("Special_Tests") == []
    assert systems.labels("The provided text does not include tests") == []
    assert systems.labels("Testes") == ["genitourinary"]
    assert systems.labels("Lungs") == ["respiratory"]
    assert systems.labels("Cardiopulmonary examination") == ["cardiovascular", "respiratory"]


def test_answers_are_compared_with_their_signs():
    assert not same_text("-0.45", "0.45")
    assert not same_text("↓ ↓ ↑ ↓", "↓ ↑ ↑ ↓")
    assert same_text("↓ ↓ ↑ ↓", "↓  ↓ ↑ ↓")
    assert same_text("Plaque Psoriasis", "plaque psoriasis")
    assert value_tokens("Base excess -5, CD20 positive, 99th centile, pH 7.1.") == [
        "-5",
        "99th",
        "7.1",
    ]
