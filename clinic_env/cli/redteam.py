"""``clinic-env redteam DATASET``: play the exploit doctors and show they do no better than
chance.

Each exploit knows only the dataset's answer space (every case's answer and aliases) and tries
to read the answer off the simulator: naming every candidate through a test, an exam, a JSON
action or a question to the patient, learning across cases which replies stand out, ending on
a question, guessing letters, listing every name at once. The table puts each beside a random
guesser and the random doctor. A second table plays a reward farmer (courteous, varied,
aimless questions until the last turn) under every bundled reward spec beside the systematic
doctor, and the same doctor with the dataset's most flagged must-not-miss names appended to
its diagnosis. The command exits with 1 when any exploit's interval lies above chance, the
farmer out-earns the doctor, or padding pays under any spec, so CI can run it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from clinic_env.datasets import load_cases
from clinic_env.testing.redteam import (
    CHANCE,
    format_farming,
    format_results,
    run_farming,
    run_redteam_sync,
)


def _seeds(text: str) -> list[int]:
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be integers separated by commas: {text!r}"
        ) from None


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "redteam", help="play exploit doctors against a dataset; fail if any beats chance"
    )
    parser.add_argument("dataset", help="dataset name or path")
    parser.add_argument("--seeds", type=_seeds, default=[0], help="comma-separated seeds")
    parser.add_argument(
        "--show-options", action="store_true", help="show MCQ options (letters become legal)"
    )
    parser.add_argument("--limit", type=int, default=None, help="play only the first N cases")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.set_defaults(handler=run_redteam_command)


def run_redteam_command(args: argparse.Namespace) -> int:
    cases = load_cases(args.dataset)[: args.limit]
    print(f"Red team on {args.dataset}: {len(cases)} cases x {len(args.seeds)} seed(s)")
    results = run_redteam_sync(
        cases,
        str(args.dataset),
        seeds=args.seeds,
        show_options=args.show_options,
        progress=lambda name: print(f"  played: {name}", file=sys.stderr),
    )
    farming = asyncio.run(run_farming(cases, str(args.dataset), seeds=args.seeds))
    table = format_results(results) + "\n\nReward farming:\n\n" + format_farming(farming)
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n", encoding="utf-8")
    chance = next(r for r in results if r.name == CHANCE)
    beaten = [r.name for r in results if not r.baseline and r.beats(chance)]
    farmed = [r.spec for r in farming if r.farms]
    padded = [r.spec for r in farming if r.pads]
    if beaten:
        print(f"Exploits above chance: {', '.join(beaten)}")
    if farmed:
        print(f"Reward specs the farmer out-earns the doctor under: {', '.join(farmed)}")
    if padded:
        print(f"Reward specs that pay for padding the differential: {', '.join(padded)}")
    if beaten or farmed or padded:
        return 1
    print(
        "Every exploit is at chance level or below, and no reward spec pays the farmer more "
        "or pays for padding the differential."
    )
    return 0
