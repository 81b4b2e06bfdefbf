"""The evaluator extension point's helpers."""

import pytest
from pydantic import ValidationError

from clinic_env.evaluators.registry import score_component


def test_equal_score_components_are_validated_once_and_shared():
    first = score_component("top1", 1.0, "diagnosis_matcher")
    assert first is score_component("top1", 1.0, "diagnosis_matcher")
    assert first.model_dump() == {
        "name": "top1",
        "value": 1.0,
        "evaluator": "diagnosis_matcher",
        "error": None,
    }
    assert score_component("top1", 0.0, "diagnosis_matcher").value == 0.0
    assert score_component("turns", 1.0, "turn_count") == score_component("turns", 1, "turn_count")
    with pytest.raises(ValidationError):
        score_component("coverage", float("nan"), "fact_coverage")
