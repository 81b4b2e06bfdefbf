"""Judge calibration: how often a diagnosis matcher agrees with hand-labelled pairs.

A pair is ``{"gold": ..., "pred": ..., "match": true|false}`` (optionally a ``kind`` such as
synonym or near_miss). The bundled set (``evaluators/pairs/diagnosis_pairs.jsonl``) was
written for clinic-env; any file of the same shape can be used instead. The report gives
accuracy, precision and recall of "same disease" and every pair the judge got wrong, for the
offline matcher and, when given, a model judge.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from pydantic import Field, ValidationError

from clinic_env.content import content_path, validation_message
from clinic_env.errors import ContentError
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.schema.base import Frozen

BUNDLED_PAIRS = ("evaluators", "pairs", "diagnosis_pairs.jsonl")


class LabelledPair(Frozen):
    gold: str = Field(min_length=1)
    pred: str
    match: bool
    kind: str | None = None


class Disagreement(Frozen):
    pair: LabelledPair
    said: bool | None = Field(description="the judge's verdict; None when it failed")
    error: str | None = None


class Agreement(Frozen):
    """How one judge fared on a labelled set."""

    judge: str
    pairs: int
    accuracy: float
    precision: float | None = Field(description="None when the judge never said 'same'")
    recall: float | None = Field(description="None when no pair is labelled 'same'")
    failed: int = Field(ge=0, description="pairs the judge gave no verdict on (counted wrong)")
    by_kind: dict[str, float] = Field(default_factory=dict, description="accuracy per kind")
    disagreements: tuple[Disagreement, ...] = ()


def bundled_pairs_path() -> Path:
    return content_path(*BUNDLED_PAIRS)


def load_pairs(path: Path | None = None) -> list[LabelledPair]:
    """Labelled pairs from a JSONL file (the bundled set by default); errors name the line."""
    path = path or bundled_pairs_path()
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


def agreement(
    judge: str, pairs: Sequence[LabelledPair], verdicts: Sequence[bool | Exception]
) -> Agreement:
    """Agreement figures of one judge's verdicts (an exception is a failed verdict)."""
    said = [v if isinstance(v, bool) else None for v in verdicts]
    right = [s is not None and s == p.match for s, p in zip(said, pairs, strict=True)]
    yes = [p for s, p in zip(said, pairs, strict=True) if s]
    true_yes = sum(p.match for p in yes)
    labelled_yes = sum(p.match for p in pairs)
    kinds: dict[str, list[bool]] = {}
    for pair, ok in zip(pairs, right, strict=True):
        kinds.setdefault(pair.kind or "unlabelled", []).append(ok)
    disagreements = tuple(
        Disagreement(
            pair=pair,
            said=s,
            error=f"{type(v).__name__}: {v}" if isinstance(v, Exception) else None,
        )
        for pair, s, v, ok in zip(pairs, said, verdicts, right, strict=True)
        if not ok
    )
    return Agreement(
        judge=judge,
        pairs=len(pairs),
        accuracy=sum(right) / len(pairs),
        precision=true_yes / len(yes) if yes else None,
        recall=true_yes / labelled_yes if labelled_yes else None,
        failed=sum(s is None for s in said),
        by_kind={kind: sum(oks) / len(oks) for kind, oks in sorted(kinds.items())},
        disagreements=disagreements,
    )


def matcher_agreement(
    pairs: Sequence[LabelledPair], matcher: DiagnosisMatcher | None = None
) -> Agreement:
    """The offline matcher's agreement with the labels."""
    matcher = matcher or DiagnosisMatcher.from_content()
    verdicts: list[bool | Exception] = []
    for pair in pairs:
        try:
            verdicts.append(matcher.matches(pair.pred, pair.gold))
        except Exception as exc:  # noqa: BLE001 - a failed verdict is reported, not raised
            verdicts.append(exc)
    return agreement("offline matcher", pairs, verdicts)


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
