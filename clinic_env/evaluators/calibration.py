"""Judge calibration: how often a diagnosis judge agrees with hand-labelled pairs.

A pair is ``{"gold": ..., "pred": ..., "match": true|false}``, optionally with a ``kind``
(the error class it tests: synonym, eponym, near_miss, list, ...) and a ``split``. The
bundled pairs were written for clinic-env in two files: ``evaluators/pairs/tuning.jsonl``,
which the matcher's rules may be tuned on, and ``evaluators/pairs/held_back.jsonl``, which
they never are (``docs/matching.md`` states the procedure). The report gives accuracy,
precision and recall of "same disease" overall, per split and per kind, and the pairs a
judge got wrong, for the offline matcher and, when given, a model judge and the hybrid
(matcher first, model on the pairs the matcher is unsure about).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from clinic_env.content import content_path, validation_message
from clinic_env.errors import ContentError
from clinic_env.language.matcher import DiagnosisMatcher, Verdict
from clinic_env.schema.base import Frozen

Split = Literal["tuning", "held_back"]
BUNDLED_SPLITS: tuple[Split, ...] = ("tuning", "held_back")
PAIRS_FOLDER = ("evaluators", "pairs")


class LabelledPair(Frozen):
    gold: str = Field(min_length=1)
    pred: str
    match: bool
    kind: str | None = None
    split: Split | None = None


class Disagreement(Frozen):
    pair: LabelledPair
    said: bool | None = Field(description="the judge's verdict; None when it failed")
    error: str | None = None


class Figures(Frozen):
    """Agreement on a subset of pairs."""

    pairs: int
    accuracy: float
    precision: float | None = Field(description="None when the judge never said 'same'")
    recall: float | None = Field(description="None when no pair is labelled 'same'")


class Agreement(Frozen):
    """How one judge fared on a labelled set."""

    judge: str
    pairs: int
    accuracy: float
    precision: float | None = Field(description="None when the judge never said 'same'")
    recall: float | None = Field(description="None when no pair is labelled 'same'")
    failed: int = Field(ge=0, description="pairs the judge gave no verdict on (counted wrong)")
    unsure: int = Field(0, ge=0, description="pairs the matcher left to a judge model")
    by_split: dict[str, Figures] = Field(default_factory=dict)
    by_kind: dict[str, Figures] = Field(default_factory=dict)
    disagreements: tuple[Disagreement, ...] = ()


def bundled_pairs_path(split: Split = "tuning") -> Path:
    return content_path(*PAIRS_FOLDER, f"{split}.jsonl")


def load_pairs(path: Path | None = None) -> list[LabelledPair]:
    """Labelled pairs from a JSONL file, or both bundled splits; errors name the line."""
    if path is None:
        return [
            pair.model_copy(update={"split": split})
            for split in BUNDLED_SPLITS
            for pair in _read_pairs(bundled_pairs_path(split))
        ]
    return _read_pairs(path)


def _read_pairs(path: Path) -> list[LabelledPair]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ContentError(f"{path}: cannot read the pairs file ({exc.strerror})") from exc
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pairs.append(LabelledPair.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ContentError(f"{path}:{number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise ContentError(validation_message(exc, path, base_line=number)) from None
    if not pairs:
        raise ContentError(f"{path}: no pairs")
    return pairs


def _figures(said: Sequence[bool | None], pairs: Sequence[LabelledPair]) -> Figures:
    right = sum(s is not None and s == p.match for s, p in zip(said, pairs, strict=True))
    yes = [p for s, p in zip(said, pairs, strict=True) if s]
    true_yes = sum(p.match for p in yes)
    labelled_yes = sum(p.match for p in pairs)
    return Figures(
        pairs=len(pairs),
        accuracy=right / len(pairs),
        precision=true_yes / len(yes) if yes else None,
        recall=true_yes / labelled_yes if labelled_yes else None,
    )


def _grouped(
    said: Sequence[bool | None], pairs: Sequence[LabelledPair], key: Callable[[LabelledPair], str]
) -> dict[str, Figures]:
    groups: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        groups.setdefault(key(pair), []).append(index)
    return {
        name: _figures([said[i] for i in idx], [pairs[i] for i in idx])
        for name, idx in sorted(groups.items())
    }


def agreement(
    judge: str,
    pairs: Sequence[LabelledPair],
    verdicts: Sequence[bool | Exception],
    unsure: int = 0,
) -> Agreement:
    """Agreement figures of one judge's verdicts (an exception is a failed verdict)."""
    said = [v if isinstance(v, bool) else None for v in verdicts]
    overall = _figures(said, pairs)
    disagreements = tuple(
        Disagreement(
            pair=pair,
            said=s,
            error=f"{type(v).__name__}: {v}" if isinstance(v, Exception) else None,
        )
        for pair, s, v in zip(pairs, said, verdicts, strict=True)
        if s is None or s != pair.match
    )
    splits = _grouped(said, pairs, lambda p: p.split or "") if any(p.split for p in pairs) else {}
    return Agreement(
        judge=judge,
        pairs=len(pairs),
        accuracy=overall.accuracy,
        precision=overall.precision,
        recall=overall.recall,
        failed=sum(s is None for s in said),
        unsure=unsure,
        by_split=splits,
        by_kind=_grouped(said, pairs, lambda p: p.kind or "unlabelled"),
        disagreements=disagreements,
    )


def matcher_verdicts(
    pairs: Sequence[LabelledPair], matcher: DiagnosisMatcher | None = None
) -> list[Verdict | Exception]:
    """The offline matcher's three-way verdict on every pair."""
    matcher = matcher or DiagnosisMatcher.from_content()
    verdicts: list[Verdict | Exception] = []
    for pair in pairs:
        try:
            verdicts.append(matcher.verdict(pair.pred, pair.gold))
        except Exception as exc:  # noqa: BLE001 - a failed verdict is reported, not raised
            verdicts.append(exc)
    return verdicts


def matcher_agreement(
    pairs: Sequence[LabelledPair], matcher: DiagnosisMatcher | None = None
) -> Agreement:
    """The offline matcher's agreement with the labels (unsure counts as different)."""
    verdicts = matcher_verdicts(pairs, matcher)
    said: list[bool | Exception] = [
        v if isinstance(v, Exception) else v is Verdict.SAME for v in verdicts
    ]
    unsure = sum(v is Verdict.UNSURE for v in verdicts)
    return agreement("offline matcher", pairs, said, unsure)


async def judge_agreement(
    name: str,
    pairs: Sequence[LabelledPair],
    same_disease: Callable[[str, str], Awaitable[bool]],
) -> Agreement:
    """A model judge's agreement: ``same_disease(pred, gold)`` per pair, failures recorded."""
    verdicts: list[bool | Exception] = []
    for pair in pairs:
        try:
            verdicts.append(await same_disease(pair.pred, pair.gold))
        except Exception as exc:  # noqa: BLE001 - a failed verdict is reported, not raised
            verdicts.append(exc)
    return agreement(name, pairs, verdicts)


def hybrid_agreement(
    name: str,
    pairs: Sequence[LabelledPair],
    offline: Sequence[Verdict | Exception],
    model: Sequence[bool | Exception | None],
) -> Agreement:
    """The hybrid judge's agreement: the matcher's verdict, the model's where it was unsure.

    ``model`` holds the model's verdict per pair (None where it was not asked).
    """
    said: list[bool | Exception] = []
    for verdict, answer in zip(offline, model, strict=True):
        if isinstance(verdict, Exception):
            said.append(verdict)
        elif verdict is Verdict.UNSURE:
            said.append(answer if answer is not None else False)
        else:
            said.append(verdict is Verdict.SAME)
    return agreement(name, pairs, said, sum(v is Verdict.UNSURE for v in offline))
