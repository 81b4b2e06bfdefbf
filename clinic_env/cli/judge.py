"""``clinic-env judge calibrate``: how well the diagnosis judges agree with labelled pairs.

Reports accuracy, precision and recall of "same disease" overall, per split (tuning,
held back) and per kind of pair, for the offline matcher and, with ``--judge MODEL``, for
the model alone and for the hybrid judge (the matcher, and the model on the pairs the
matcher is unsure about), on the bundled pairs or on a file of lines ``{"gold": ...,
"pred": ..., "match": true|false}``. It lists the pairs a judge got wrong, except held-back
ones unless ``--show-held-back``: rules are tuned on the tuning split only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from clinic_env.agents.model_role import CallLog, ModelRole
from clinic_env.cli.options import add_cache_options, make_client
from clinic_env.evaluators.calibration import (
    BUNDLED_SPLITS,
    Agreement,
    Figures,
    LabelledPair,
    agreement,
    hybrid_agreement,
    load_pairs,
    matcher_verdicts,
)
from clinic_env.evaluators.llm_judge import LLMJudge
from clinic_env.language.matcher import Verdict
from clinic_env.llm.config import as_model_config


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("judge", help="check the diagnosis judges against labelled pairs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    calibrate = actions.add_parser(
        "calibrate", help="agreement of the offline matcher (and a model judge) with labels"
    )
    calibrate.add_argument(
        "--pairs", type=Path, default=None, help="JSONL of {gold, pred, match} (default: bundled)"
    )
    calibrate.add_argument(
        "--split", choices=BUNDLED_SPLITS, default=None, help="only the pairs of one split"
    )
    calibrate.add_argument("--judge", default=None, help="a model id, e.g. openai/gpt-4o-mini")
    calibrate.add_argument(
        "--unsure-only",
        action="store_true",
        help="ask the model only the pairs the matcher is unsure about (the hybrid judge)",
    )
    calibrate.add_argument(
        "--show-held-back", action="store_true", help="also list held-back disagreements"
    )
    calibrate.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_cache_options(calibrate)
    calibrate.set_defaults(handler=calibrate_judges)


def calibrate_judges(args: argparse.Namespace) -> int:
    pairs = [p for p in load_pairs(args.pairs) if args.split is None or p.split == args.split]
    offline = matcher_verdicts(pairs)
    said: list[bool | Exception] = [
        v if isinstance(v, Exception) else v is Verdict.SAME for v in offline
    ]
    results = [agreement("offline matcher", pairs, said, sum(v is Verdict.UNSURE for v in offline))]
    if args.judge:
        role = ModelRole("judge", as_model_config(args.judge), make_client(args), CallLog())
        asked = [not args.unsure_only or v is Verdict.UNSURE for v in offline]
        answers = asyncio.run(_ask(LLMJudge(role), pairs, asked))
        if not args.unsure_only:
            model_said = [a if a is not None else RuntimeError("not asked") for a in answers]
            results.append(agreement(args.judge, pairs, model_said))
        results.append(
            hybrid_agreement(f"hybrid (matcher + {args.judge})", pairs, offline, answers)
        )
    if args.json:
        print(json.dumps([result.model_dump(mode="json") for result in results], indent=2))
        return 0
    for result in results:
        print(format_agreement(result, show_held_back=args.show_held_back))
    return 0


async def _ask(
    judge: LLMJudge, pairs: list[LabelledPair], asked: list[bool]
) -> list[bool | Exception | None]:
    answers: list[bool | Exception | None] = []
    for pair, ask in zip(pairs, asked, strict=True):
        if not ask:
            answers.append(None)
            continue
        try:
            answers.append(await judge.same_disease(pair.pred, pair.gold))
        except Exception as exc:  # noqa: BLE001 - a failed verdict is reported, not raised
            answers.append(exc)
    return answers


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _line(name: str, figures: Figures) -> str:
    return (
        f"{name}: {figures.pairs} pairs, accuracy {_percent(figures.accuracy)}, "
        f"precision {_percent(figures.precision)}, recall {_percent(figures.recall)}"
    )


def format_agreement(result: Agreement, *, show_held_back: bool = False) -> str:
    """The figures, per split and per kind of pair, and the disagreeing pairs."""
    right = round(result.accuracy * result.pairs)
    lines = [
        f"{result.judge}: {result.pairs} pairs, accuracy {_percent(result.accuracy)} "
        f"({right}/{result.pairs}), precision {_percent(result.precision)}, "
        f"recall {_percent(result.recall)}, no verdict {result.failed}, unsure {result.unsure}",
    ]
    lines += [f"  split {_line(name, figures)}" for name, figures in result.by_split.items()]
    if result.by_kind:
        lines.append("  by kind:")
        lines += [f"    {_line(name, figures)}" for name, figures in result.by_kind.items()]
    shown = [d for d in result.disagreements if show_held_back or d.pair.split != "held_back"]
    hidden = len(result.disagreements) - len(shown)
    if shown:
        lines.append(f"  disagreements ({len(shown)}):")
    for item in shown:
        pair = item.pair
        said = item.error or ("same" if item.said else "different")
        label = "same" if pair.match else "different"
        lines.append(
            f"    [{pair.kind or '-'}] {pair.gold!r} vs {pair.pred!r}: labelled {label}, "
            f"judged {said}"
        )
    if hidden:
        lines.append(f"  held-back disagreements not listed: {hidden} (--show-held-back)")
    return "\n".join(lines)
