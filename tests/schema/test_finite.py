"""Every boundary model holds finite numbers and text that can be written as UTF-8."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from clinic_env.schema.base import Frozen, strip_url_credentials, valid_text, valid_texts
from clinic_env.schema.transcript import ModelCall
from tests.helpers.cases import MINIMAL_CASE, minimal_case


class Holder(Frozen):
    amount: float = 0.0
    parts: dict[str, float] = Field(default_factory=dict)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize("field", ["amount", "parts"])
def test_non_finite_numbers_are_refused_in_float_fields(field: str, value: float):
    data = {"amount": value, "parts": {"x": value}}
    with pytest.raises(ValidationError, match="finite number") as error:
        Holder(**{field: data[field]})
    assert error.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_json_is_refused_naming_the_field(literal: str):
    with pytest.raises(ValidationError, match="finite number"):
        ModelCall.model_validate_json(
            f'{{"role": "patient", "turn": 1, "key": "k", "prompt_tokens": 1, '
            f'"completion_tokens": 1, "cost_usd": {literal}}}'
        )


def test_a_case_with_an_infinite_test_cost_is_refused():
    tests = [{**MINIMAL_CASE["tests"][0], "cost_usd": float("inf")}]
    with pytest.raises(ValidationError, match="finite number"):
        minimal_case(tests=tests)


def test_valid_texts_replaces_lone_surrogates_anywhere_in_parsed_data():
    data = {"text": "Where \ud800 does it hurt?", "new\ud800": ["ok", ("\udfff",)], "n": 1.5}
    assert valid_texts(data) == {
        "text": "Where \ufffd does it hurt?",
        "new\ufffd": ["ok", ("\ufffd",)],
        "n": 1.5,
    }
    clean = {"a": ["b", {"c": "d"}]}
    assert valid_texts(clean) is clean


def test_valid_text_keeps_valid_text_and_pairs_as_they_are():
    assert valid_text("plain") == "plain"
    assert valid_text("caf\u00e9 \U0001f600") == "caf\u00e9 \U0001f600"
    assert valid_text("\ud83d\ude00") == "\U0001f600"  # a pair written as two halves


def test_url_credentials_are_stripped_and_nothing_else():
    text = 'base "http://alice:pw@10.0.0.1:8000/v1", https://tok@host/x, mail bob@example.org'
    assert strip_url_credentials(text) == (
        'base "http://10.0.0.1:8000/v1", https://host/x, mail bob@example.org'
    )
