"""The core evaluators on hand-written transcripts, and how failures are recorded."""

import asyncio

import pytest

from clinic_env.agents.personas import load_persona
from clinic_env.errors import ConfigError
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, evaluate
from clinic_env.evaluators.scoring import (
    CoverageEvaluator,
    DiagnosisEvaluator,
    MCQEvaluator,
    TestsEvaluator,
    diagnosis_rank,
)
from clinic_env.evaluators.suite import create_evaluators, default_evaluators
from clinic_env.language.matcher import DiagnosisMatcher
from tests.helpers.cases import minimal_case
from tests.helpers.transcripts import score, transcript, turn

OPTIONS = {"A": "Septic arthritis", "B": "Gout", "C": "Cellulitis"}


def test_top_k_over_a_ranked_differential():
    case = minimal_case()
    ranked = ["Septic arthritis", "Cellulitis", "gouty arthritis"]
    record = transcript(case, [turn(1, "DIAGNOSIS READY: x")], differential=ranked)
    got = score(case, record, DiagnosisEvaluator()).as_dict()
    assert got == {
        "diagnosed": 1.0,
        "top1": 0.0,
        "top3": 1.0,
        "top5": 1.0,
        "must_not_miss": 1.0,  # septic arthritis, flagged must-not-miss, is listed
    }
    missed = transcript(case, [], differential=["Gout"])
    assert score(case, missed, DiagnosisEvaluator()).value("must_not_miss") == 0.0
    nothing = score(case, transcript(case, []), DiagnosisEvaluator()).as_dict()
    assert nothing["diagnosed"] == 0.0 and nothing["top5"] == 0.0


def test_mcq_accuracy_by_letter_or_text_and_only_with_options():
    case = minimal_case(
        options=OPTIONS,
        ground_truth={**minimal_case().ground_truth.model_dump(), "answer_option": "B"},
    )
    for answer, right in (
        ("B", 1.0),
        ("(B) Gout", 1.0),
        ("Gout", 1.0),
        ("A", 0.0),
        ("Cellulitis", 0.0),
    ):
        record = transcript(case, [], differential=[answer])
        assert score(case, record, MCQEvaluator()).value("mcq_correct") == right, answer
    assert score(minimal_case(), transcript(minimal_case(), []), MCQEvaluator()).components == ()


def test_coverage_tests_cost_and_turnaround():
    case = minimal_case()
    turns = [
        turn(1, "Do you drink?", "Patient: six beers", facts=(3,)),
        turn(2, "What medicines?", "Patient: a water tablet", facts=(2,)),
        turn(3, "REQUEST TEST: CBC", "White cells 11.2", cost=30, hours=1),
        turn(4, "REQUEST TEST: serum uric acid", "9.1 mg/dL", cost=20, hours=4),
        turn(5, "REQUEST EXAM: knee", "Hot, red, swollen knee."),
    ]
    record = transcript(case, turns, differential=["Gout"])
    got = score(case, record, CoverageEvaluator(), TestsEvaluator()).as_dict()
    assert got["coverage"] == pytest.approx(2 / 4)
    assert got["turns"] == 5.0 and got["tests_ordered"] == 2.0
    assert got["test_cost_usd"] == 50.0 and got["test_turnaround_hours"] == 5.0


class BrokenMatcher:
    def rank(self, *args, **kwargs):
        raise RuntimeError("synonyms file unreadable")

    def matches(self, *args, **kwargs):
        raise RuntimeError("synonyms file unreadable")


def test_a_failing_score_is_recorded_with_its_error_never_zero():
    case = minimal_case()
    record = transcript(case, [], differential=["Gout"])
    context = EvaluationContext(case, record, load_persona("plain"), BrokenMatcher())
    result = asyncio.run(evaluate(context, [DiagnosisEvaluator()]))
    top1 = next(c for c in result.components if c.name == "top1")
    assert top1.value is None and "synonyms file unreadable" in top1.error
    assert result.value("diagnosed") == 1.0  # the others still score


class Exploding:
    name = "exploding"
    produces = ("first", "second")

    async def evaluate(self, context):
        raise ValueError("no")


def test_an_evaluator_that_raises_records_every_score_it_produces():
    case = minimal_case()
    result = score(case, transcript(case, []), Exploding(), CoverageEvaluator())
    failed = [c for c in result.components if c.evaluator == "exploding"]
    assert [c.name for c in failed] == ["first", "second"]
    assert all(c.value is None and c.error == "ValueError: no" for c in failed)
    assert result.value("coverage") == 0.0


def test_registry_defaults_and_judge_requirements():
    assert {
        "diagnosis",
        "mcq",
        "coverage",
        "tests",
        "inquiry",
        "rubric",
        "fidelity",
        "bias",
    } <= set(EVALUATORS.names())
    assert "llm_judge" not in default_evaluators(judge=False)
    assert "llm_judge" in default_evaluators(judge=True)
    with pytest.raises(ConfigError, match="rubric_llm"):
        create_evaluators(["diagnosis", "rubric_llm"], judge=None)
    assert [e.name for e in create_evaluators(["coverage"], None)] == ["fact_coverage"]


def test_an_answer_naming_a_differential_is_that_differential_not_the_truth():
    """'Tension pneumothorax' passes for a more specific pneumothorax, but the case lists it
    as a differential of its primary spontaneous pneumothorax: it scores nothing, while the
    truth's own names and a wider differential name still work as they should."""
    truth = {
        "diagnosis": "Primary spontaneous pneumothorax",
        "aliases": ["pneumothorax"],
        "differentials": [{"diagnosis": "Tension pneumothorax"}, {"diagnosis": "Pneumothorax"}],
    }
    case = minimal_case(ground_truth=truth)
    matcher = DiagnosisMatcher.from_content()
    assert diagnosis_rank(case, ["Tension pneumothorax"], matcher) is None
    assert diagnosis_rank(case, ["Tension pneumothorax", "pneumothorax"], matcher) == 2
    assert diagnosis_rank(case, ["primary spontaneous pneumothorax"], matcher) == 1
