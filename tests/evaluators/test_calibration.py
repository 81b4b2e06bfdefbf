"""Judge calibration against labelled diagnosis pairs."""

import asyncio
import json
from pathlib import Path

import pytest

from clinic_env.errors import ContentError
from clinic_env.evaluators.calibration import (
    LabelledPair,
    agreement,
    judge_agreement,
    load_pairs,
    matcher_agreement,
)


def test_the_bundled_pairs_load_and_cover_every_kind():
    pairs = load_pairs()
    assert len(pairs) >= 150
    kinds = {pair.kind for pair in pairs}
    assert {"synonym", "abbreviation", "spelling", "specific", "near_miss", "negation"} <= kinds
    assert 0.3 < sum(p.match for p in pairs) / len(pairs) < 0.8
    assert len({(p.gold, p.pred) for p in pairs}) == len(pairs)


def test_the_offline_matcher_is_precise_on_the_bundled_pairs():
    result = matcher_agreement(load_pairs())
    assert result.pairs == len(load_pairs()) and result.failed == 0
    assert result.precision is not None and result.precision >= 0.95
    assert result.accuracy >= 0.8
    assert result.by_kind["near_miss"] == 1.0 and result.by_kind["negation"] == 1.0
    assert len(result.disagreements) == round((1 - result.accuracy) * result.pairs)


def test_agreement_figures_on_known_verdicts():
    pairs = [
        LabelledPair(gold="a", pred="a", match=True),
        LabelledPair(gold="b", pred="b2", match=True),
        LabelledPair(gold="c", pred="d", match=False),
        LabelledPair(gold="e", pred="f", match=False),
    ]
    result = agreement("x", pairs, [True, False, True, RuntimeError("timeout")])
    assert result.accuracy == 0.25
    assert result.precision == 0.5 and result.recall == 0.5
    assert result.failed == 1
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


def test_a_user_file_is_validated_line_by_line(tmp_path: Path):
    good = tmp_path / "pairs.jsonl"
    rows = [{"gold": "Gout", "pred": "gouty arthritis", "match": True}, {}]
    good.write_text(json.dumps(rows[0]) + "\n\n")
    assert load_pairs(good)[0].kind is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"gold": "x", "pred": "y"}) + "\n")
    with pytest.raises(ContentError, match=r"bad.jsonl:2 \(field match\)"):
        load_pairs(bad)
    bad.write_text("{not json\n")
    with pytest.raises(ContentError, match=r"bad.jsonl:1: not JSON"):
        load_pairs(bad)
    with pytest.raises(ContentError, match="cannot read"):
        load_pairs(tmp_path / "missing.jsonl")
