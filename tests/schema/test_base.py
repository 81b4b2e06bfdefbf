"""Records built without validating again: the same objects validation would give."""

import pytest

from clinic_env.schema.base import trusted, trusted_fields
from clinic_env.schema.transcript import Turn

FIELDS = {
    "index": 1,
    "doctor_message": "Any fever?",
    "action": None,
    "responder": "system",
    "observation": "[not understood]",
}


def test_trusted_equals_the_validated_model_with_its_defaults():
    built = trusted(Turn, **FIELDS)
    assert built == Turn.model_validate(FIELDS)
    assert built.model_fields_set == set(FIELDS)
    other = trusted(Turn, **FIELDS)
    assert built.reward_breakdown == {} and built.reward_breakdown is not other.reward_breakdown


def test_a_complete_dict_is_taken_over_as_it_is():
    complete = Turn.model_validate(FIELDS).model_dump()
    built = trusted_fields(Turn, complete)
    assert built == Turn.model_validate(complete)
    assert built.__dict__ is complete


def test_an_unknown_field_is_named():
    with pytest.raises(TypeError, match=r"Turn has no field\(s\) colour"):
        trusted(Turn, **FIELDS, colour="red")
