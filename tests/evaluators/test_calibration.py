"""Judge calibration against labelled diagnosis pairs, and the hybrid judge."""

import asyncio
import hashlib
import json
import re
from pathlib import Path

import pytest

from clinic_env.errors import ContentError
from clinic_env.evaluators.calibration import (
    LabelledPair,
    agreement,
    bundled_pairs_path,
    hybrid_agreement,
    judge_agreement,
    load_pairs,
    matcher_agreement,
)
from clinic_env.evaluators.llm_judge import HybridJudge
from clinic_env.language.matcher import DiagnosisMatcher, Verdict

KINDS = {
    "synonym",
    "abbreviation",
    "spelling",
    "typo",
    "word_order",
    "specific",
    "eponym",
    "organism",
    "format",
    "near_miss",
    "general",
    "generic",
    "list",
    "negation",
    "unrelated",
}


def _key(gold: str) -> str:
    return re.sub(r"[^a-z0-9]", "", gold.lower())


def test_the_bundled_pairs_are_many_varied_and_split_without_overlap():
    pairs = load_pairs()
    assert len(pairs) >= 1800 and len({(p.gold, p.pred) for p in pairs}) == len(pairs)
    assert {p.kind for p in pairs} == KINDS
    assert 0.3 < sum(p.match for p in pairs) / len(pairs) < 0.8
    held = [p for p in pairs if p.split == "held_back"]
    tuning = [p for p in pairs if p.split == "tuning"]
    assert len(held) >= 400 and len(held) + len(tuning) == len(pairs)
    # the documented split: a held-back gold hashes odd, and no gold is in both halves
    assert all(hashlib.sha256(_key(p.gold).encode()).digest()[0] % 2 == 1 for p in held)
    assert not {_key(p.gold) for p in held} & {_key(p.gold) for p in tuning}


def test_the_held_back_half_is_frozen():
    """Editing the held-back pairs would let them be tuned on; a new set needs a new file."""
    digest = hashlib.sha256(bundled_pairs_path("held_back").read_bytes()).hexdigest()
    assert digest == "ddfe265d06d991cd835a70810a329e9d4ef4ec24237388367d9e2280803bfc35"


def test_the_offline_matcher_is_precise_on_both_splits():
    result = matcher_agreement(load_pairs())
    assert result.failed == 0 and set(result.by_split) == {"tuning", "held_back"}
    for split in result.by_split.values():
        assert split.precision is not None and split.precision >= 0.98
    assert result.by_split["tuning"].accuracy >= 0.98
    assert result.by_split["held_back"].accuracy >= 0.95
    for kind in ("list", "negation", "generic", "unrelated", "general"):
        assert result.by_kind[kind].accuracy == 1.0
    assert len(result.disagreements) == round((1 - result.accuracy) * result.pairs)


def test_agreement_figures_on_known_verdicts():
    pairs = [
        LabelledPair(gold="a", pred="a", match=True, kind="x"),
        LabelledPair(gold="b", pred="b2", match=True, kind="x"),
        LabelledPair(gold="c", pred="d", match=False, kind="y"),
        LabelledPair(gold="e", pred="f", match=False, kind="y"),
    ]
    result = agreement("x", pairs, [True, False, True, RuntimeError("timeout")])
    assert result.accuracy == 0.25
    assert result.precision == 0.5 and result.recall == 0.5
    assert result.failed == 1 and result.by_split == {}
    assert result.by_kind["x"].accuracy == 0.5 and result.by_kind["x"].recall == 0.5
    assert result.by_kind["y"].precision == 0.0 and result.by_kind["y"].recall is None
    assert [d.pair.gold for d in result.disagreements] == ["b", "c", "e"]
    assert result.disagreements[-1].error == "RuntimeError: timeout"
    never = agreement("y", pairs[2:], [False, False])
    assert never.precision is None and never.recall is None and never.accuracy == 1.0


def test_a_model_judge_is_scored_the_same_way():
    async def judge(pred: str, gold: str) -> bool:
        if gold == "boom":
            raise ValueError("unclear")
        return pred.lower() == gold.lower()

    pairs = [
        LabelledPair(gold="Gout", pred="gout", match=True),
        LabelledPair(gold="boom", pred="x", match=False),
    ]
    result = asyncio.run(judge_agreement("stub", pairs, judge))
    assert result.accuracy == 0.5 and result.failed == 1


def test_the_hybrid_takes_the_model_only_where_the_matcher_is_unsure():
    pairs = [
        LabelledPair(gold="Gout", pred="Gout", match=True),
        LabelledPair(gold="Gout", pred="Pneumonia", match=False),
        LabelledPair(gold="Pneumonia", pred="Zorblax pneumonia", match=True),
    ]
    offline = [Verdict.SAME, Verdict.DIFFERENT, Verdict.UNSURE]
    result = hybrid_agreement("hybrid", pairs, offline, [None, None, True])
    assert result.accuracy == 1.0 and result.unsure == 1
    wrong = hybrid_agreement("hybrid", pairs, offline, [False, True, None])
    assert wrong.accuracy == pytest.approx(2 / 3)


def test_the_hybrid_judge_asks_the_model_once_per_unsure_pair():
    class Model:
        def __init__(self) -> None:
            self.questions: list[tuple[str, str]] = []

        async def same_disease(self, predicted: str, truth: str) -> bool:
            self.questions.append((predicted, truth))
            return True

    model = Model()
    judge = HybridJudge(DiagnosisMatcher.from_content(), model)  # type: ignore[arg-type]

    async def run() -> list[bool]:
        return [
            await judge.same_disease("Pulmonary tuberculosis", "Tuberculosis"),
            await judge.same_disease("Gout", "Tuberculosis"),
            await judge.same_disease("Zorblax pneumonia", "Pneumonia"),
            await judge.same_disease("Zorblax pneumonia", "Pneumonia"),
            await judge.rank(["Gout", "Zorblax pneumonia"], "Pneumonia") == 2,
        ]

    assert asyncio.run(run()) == [True, False, True, True, True]
    assert model.questions == [("Zorblax pneumonia", "Pneumonia")] and judge.asked == 1
    offline = HybridJudge(DiagnosisMatcher.from_content())
    assert asyncio.run(offline.same_disease("Zorblax pneumonia", "Pneumonia")) is False


def test_a_user_file_is_validated_line_by_line(tmp_path: Path):
    good = tmp_path / "pairs.jsonl"
    rows = [{"gold": "Gout", "pred": "gouty arthritis", "match": True}, {}]
    good.write_text(json.dumps(rows[0]) + "\n\n")
    assert load_pairs(good)[0].kind is None and load_pairs(good)[0].split is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"gold": "x", "pred": "y"}) + "\n")
    with pytest.raises(ContentError, match=r"bad.jsonl:2 \(field match\)"):
        load_pairs(bad)
    bad.write_text("{not json\n")
    with pytest.raises(ContentError, match=r"bad.jsonl:1: not JSON"):
        load_pairs(bad)
    bad.write_text(json.dumps({**rows[0], "split": "other"}) + "\n")
    with pytest.raises(ContentError, match="split"):
        load_pairs(bad)
    with pytest.raises(ContentError, match="cannot read"):
        load_pairs(tmp_path / "missing.jsonl")
