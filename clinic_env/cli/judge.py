"""``clinic-env judge calibrate``: how well the diagnosis judges agree with labelled pairs.

Reports accuracy, precision and recall of "same disease" for the offline matcher and, with
``--judge MODEL``, for a model judge, on the bundled pairs or on a file of lines
``{"gold": ..., "pred": ..., "match": true|false}``, and lists every pair a judge got wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from clinic_env.agents.model_role import CallLog, ModelRole
from clinic_env.cli.options import add_cache_options, make_client
from clinic_env.evaluators.calibration import (
    Agreement,
    judge_agreement,
    load_pairs,
    matcher_agreement,
)
from clinic_env.evaluators.llm_judge import LLMJudge
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
    calibrate.add_argument("--judge", default=None, help="a model id, e.g. openai/gpt-4o-mini")
    calibrate.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_cache_options(calibrate)
    calibrate.set_defaults(handler=calibrate_judges)


def calibrate_judges(args: argparse.Namespace) -> int:
    pairs = load_pairs(args.pairs)
    results = [matcher_agreement(pairs)]
    if args.judge:
        role = ModelRole("judge", as_model_config(args.judge), make_client(args), CallLog())
        judge = LLMJudge(role)
        results.append(asyncio.run(judge_agreement(args.judge, pairs, judge.same_disease)))
    if args.json:
        print(json.dumps([result.model_dump(mode="json") for result in results], indent=2))
        return 0
    for result in results:
        print(format_agreement(result))
    return 0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def format_agreement(result: Agreement) -> str:
    """The figures, accuracy per kind of pair, and every disagreeing pair."""
    right = round(result.accuracy * result.pairs)
    lines = [
        f"{result.judge}: {result.pairs} pairs, accuracy {_percent(result.accuracy)} "
        f"({right}/{result.pairs}), precision {_percent(result.precision)}, "
        f"recall {_percent(result.recall)}, no verdict {result.failed}",
    ]
    if result.by_kind:
        kinds = ", ".join(f"{kind} {_percent(acc)}" for kind, acc in result.by_kind.items())
        lines.append(f"  by kind: {kinds}")
    if result.disagreements:
        lines.append(f"  disagreements ({len(result.disagreements)}):")
    for item in result.disagreements:
        pair = item.pair
        said = item.error or ("same" if item.said else "different")
        label = "same" if pair.match else "different"
        lines.append(f"    {pair.gold!r} vs {pair.pred!r}: labelled {label}, judged {said}")
    return "\n".join(lines)
