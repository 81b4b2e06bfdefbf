import pytest

from clinic_env.errors import ProtocolError
from clinic_env.protocol import Consultation, Limits
from clinic_env.schema import Action, ActionKind


def answer(consultation: Consultation, message) -> None:
    consultation.close(consultation.submit(message))


def test_routing_by_action_kind():
    c = Consultation(Limits(max_turns=10))
    request = c.submit("How are you?")
    assert request.responder == "patient"
    c.close(request)
    assert c.turn_count == 1 and c.turns_left == 9
    assert c.submit("REQUEST TEST: CBC").responder == "measurement"


def test_diagnosis_ends_the_consultation():
    c = Consultation()
    answer(c, "Any fever?")
    answer(c, "DIAGNOSIS READY: Gout; Septic arthritis")
    assert c.finished and c.outcome == "diagnosed" and not c.truncated
    assert c.differential == ("Gout", "Septic arthritis")
    with pytest.raises(ProtocolError, match="over"):
        c.submit("Anything else?")


def test_end_without_diagnosis():
    c = Consultation()
    answer(c, "END")
    assert c.outcome == "ended" and c.differential == ()


@pytest.mark.parametrize(
    "last", ["Pulmonary embolism", "Any cough?", "REQUEST TEST: CBC", "REQUEST TSET: CBC", "{"]
)
def test_only_a_diagnosis_is_a_diagnosis_even_on_the_last_turn(last):
    c = Consultation(Limits(max_turns=3))
    answer(c, "Question one?")
    answer(c, "Question two?")
    request = c.submit(last)
    assert request.action is None or request.action.kind is not ActionKind.DIAGNOSE
    c.close(request)
    assert c.outcome == "out_of_turns" and c.differential == ()


def test_out_of_turns_is_truncation():
    c = Consultation(Limits(max_turns=2))
    answer(c, "Question?")
    answer(c, "REQUEST TEST: CBC")
    assert c.finished and c.truncated and c.outcome == "out_of_turns"


def test_repeated_and_invalid_actions_are_flagged():
    c = Consultation()
    answer(c, "Any fever?")
    repeated = c.submit("any FEVER?")
    assert repeated.repeated
    c.close(repeated)
    request = c.submit("")
    assert request.error and request.action is None and request.responder == "system"


def test_misuse_is_a_protocol_error():
    c = Consultation()
    other = Consultation().submit("elsewhere")
    with pytest.raises(ProtocolError, match="pending"):
        c.close(other)
    c.submit("hello")
    with pytest.raises(ProtocolError, match="not been answered"):
        c.submit("again")
    with pytest.raises(ProtocolError, match="is pending"):
        c.close(other)
    with pytest.raises(ProtocolError):
        Limits(max_turns=0)


def test_structured_actions_are_checked():
    c = Consultation()
    request = c.submit(Action(kind=ActionKind.ORDER_TEST, text=" "))
    assert request.error == "the order_test action needs text"
    assert request.message == "REQUEST TEST:  "


def test_a_structured_differential_is_cut_as_a_typed_one_is():
    names = tuple(f"Diagnosis {i}" for i in range(1000))
    request = Consultation().submit(Action(kind=ActionKind.DIAGNOSE, differential=names))
    assert request.action is not None
    assert request.action.differential == names[:10]
    typed = Consultation().submit("DIAGNOSIS READY: " + "; ".join(names[:50]))
    assert typed.action == request.action


def test_overlong_messages_are_rejected():
    c = Consultation(Limits(max_message_chars=10))
    request = c.submit("x" * 11)
    assert request.error and "limit is 10" in request.error
