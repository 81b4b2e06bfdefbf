import pytest

from clinic_env.protocol import ParseError, parse_action, split_differential
from clinic_env.schema import ActionKind


@pytest.mark.parametrize(
    ("message", "kind", "text"),
    [
        ("When did the pain start?", ActionKind.ASK, "When did the pain start?"),
        ("REQUEST TEST: CBC", ActionKind.ORDER_TEST, "CBC"),
        ("request test: Complete Blood Count.", ActionKind.ORDER_TEST, "Complete Blood Count"),
        ("**REQUEST TEST:** troponin", ActionKind.ORDER_TEST, "troponin"),
        ("request_test - D-dimer", ActionKind.ORDER_TEST, "D-dimer"),
        (
            "I will check that. REQUEST TEST: chest x-ray\nThanks",
            ActionKind.ORDER_TEST,
            "chest x-ray",
        ),
        ("REQUEST EXAM: abdomen", ActionKind.EXAMINE, "abdomen"),
        ("Request physical examination: cardiovascular", ActionKind.EXAMINE, "cardiovascular"),
        ("REQUEST IMAGES", ActionKind.REQUEST_IMAGES, ""),
        ("END", ActionKind.END, ""),
        ("end consultation.", ActionKind.END, ""),
    ],
)
def test_commands_parse_tolerantly(message, kind, text):
    action = parse_action(message)
    assert not isinstance(action, ParseError)
    assert action.kind is kind
    assert action.text == text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("DIAGNOSIS READY: Pulmonary embolism", ("Pulmonary embolism",)),
        ("diagnosis ready: PE; pneumothorax; pneumonia", ("PE", "pneumothorax", "pneumonia")),
        (
            "Diagnosis Ready: 1. Gout 2. Septic arthritis 3. Pseudogout",
            ("Gout", "Septic arthritis", "Pseudogout"),
        ),
        (
            "DIAGNOSIS READY:\n1) Gout\n2) Septic arthritis\n- Cellulitis",
            ("Gout", "Septic arthritis", "Cellulitis"),
        ),
        ("DIAGNOSIS_READY - Gout, cellulitis", ("Gout", "cellulitis")),
        ("My answer. **DIAGNOSIS READY:** Crohn's disease.", ("Crohn's disease",)),
        (
            "DIAGNOSIS READY: Lymphoma (diffuse, large B-cell), leukaemia",
            ("Lymphoma (diffuse, large B-cell)", "leukaemia"),
        ),
        ("DIAGNOSIS READY: Gout; gout; GOUT", ("Gout",)),
    ],
)
def test_diagnosis_with_ranked_lists(message, expected):
    action = parse_action(message)
    assert not isinstance(action, ParseError)
    assert action.kind is ActionKind.DIAGNOSE
    assert action.differential == expected


def test_diagnosis_beats_other_commands_in_one_message():
    action = parse_action("REQUEST TEST: CBC ... actually DIAGNOSIS READY: Gout")
    assert not isinstance(action, ParseError)
    assert action.kind is ActionKind.DIAGNOSE


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("**", "empty"),
        ("DIAGNOSIS READY:", "at least one diagnosis"),
        ("REQUEST TEST:", "name a test"),
        ("{not json", "invalid JSON"),
        ("[1, 2]", None),
        ('{"action": "fly"}', 'unknown action "fly"'),
        ('{"text": "hello"}', '"action" field'),
        ('{"action": "diagnose", "differential": 3}', "differential"),
        ('{"action": "order_test"}', '"test" field'),
    ],
)
def test_malformed_messages_give_errors_not_crashes(message, fragment):
    action = parse_action(message)
    if fragment is None:  # a JSON list is not an object: it is read as a plain question
        assert not isinstance(action, ParseError)
        return
    assert isinstance(action, ParseError)
    assert fragment in action.message


def test_structured_json_actions():
    assert parse_action('{"action": "ask", "question": "Any fever?"}').text == "Any fever?"
    test = parse_action('{"action": "order_test", "test": "CBC"}')
    assert test.kind is ActionKind.ORDER_TEST and test.text == "CBC"
    diagnosis = parse_action('{"action": "diagnose", "differential": ["Gout", "Pseudogout"]}')
    assert diagnosis.differential == ("Gout", "Pseudogout")
    assert parse_action('{"kind": "end"}').kind is ActionKind.END


def test_non_text_is_an_error():
    assert isinstance(parse_action(42), ParseError)  # type: ignore[arg-type]


def test_split_differential_caps_length():
    assert len(split_differential("; ".join(f"d{i}" for i in range(30)))) == 10


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("REQUEST TSET: CBC", '"REQUEST TSET" is not a command'),
        ("request xray: chest", '"request xray" is not a command'),
        ("Diagnosis: gout", "DIAGNOSIS READY"),
        ("Final diagnosis: pulmonary embolism", "DIAGNOSIS READY"),
    ],
)
def test_a_mistyped_command_gets_a_hint_not_a_question_to_the_patient(message, hint):
    parsed = parse_action(message)
    assert isinstance(parsed, ParseError) and hint in parsed.message


@pytest.mark.parametrize(
    "message", ["Do you have any requests?", "What was the diagnosis last time?", "The end?"]
)
def test_questions_that_mention_command_words_stay_questions(message):
    assert parse_action(message).kind is ActionKind.ASK
