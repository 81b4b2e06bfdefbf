"""``clinic-env compare RUN_A RUN_B``: two runs, cell by cell, and the paired difference.

A consultation of A and one of B form a pair when they share dataset, case, persona, bias
set, seed and repeat; the doctor may differ (comparing doctors is the usual point). A run
holding several doctors is narrowed to one with ``--doctor-a`` / ``--doctor-b``, so one run
given twice compares two of its doctors. Pairs with a failed side, and (unless
``--include-simulator-faults``) pairs the simulator spoiled, are left out and counted, as are
cells only one run holds and pairs missing a score. The difference B - A in top-1 and top-3
accuracy gets the Bonett-Price interval for paired proportions and an exact sign-flip p-value
(:func:`~clinic_env.evaluators.stats.paired_effect`); the table is printed and written with a
forest plot (matplotlib, the ``report`` extra) to ``--out``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clinic_env.errors import UserError
from clinic_env.evaluators.stats import PairedEffect, describe_effect, paired_effect
from clinic_env.runner.experiment import config_changes
from clinic_env.runner.report_frame import Run, bias_label, load_run
from clinic_env.runner.store import RunRecord
from clinic_env.runner.summary import ALL, CONFIDENCE, is_simulator_fault

PairKey = tuple[str, str, str, str, int, int]
"""dataset, case, persona, bias set label, seed, repeat: what a pair shares."""
SCORES = (("top1", "top-1"), ("top3", "top-3"))
INSTALL_HINT = 'pip install "clinic-env[report]"'


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "compare", help="pair two runs cell by cell: the difference in top-1/top-3, with CIs"
    )
    parser.add_argument("run_a", type=Path, help="the run compared against (A)")
    parser.add_argument("run_b", type=Path, help="the run compared (B); the table shows B - A")
    parser.add_argument("--doctor-a", default=None, help="A's doctor, when A holds several")
    parser.add_argument("--doctor-b", default=None, help="B's doctor, when B holds several")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for comparison.md and comparison.png (default: runs/compare/A-vs-B)",
    )
    parser.add_argument("--no-plot", action="store_true", help="write the table only")
    parser.add_argument(
        "--include-simulator-faults",
        action="store_true",
        help="keep pairs the simulator spoiled (always counted)",
    )
    parser.set_defaults(handler=compare)


@dataclass(frozen=True)
class Side:
    """One run narrowed to one doctor, its consultations by what a pair shares."""

    run: Run
    doctor: str
    records: dict[PairKey, RunRecord]

    @property
    def name(self) -> str:
        return f"{self.run.folder} (doctor {self.doctor})"


def pair_key(record: RunRecord) -> PairKey:
    c = record.cell
    return (c.dataset, c.case_id, c.persona, bias_label(c.biases), c.seed, c.repeat)


def side(run: Run, doctor: str | None, flag: str) -> Side:
    """``run``'s consultations of ``doctor`` (its only doctor when None)."""
    doctors = run.doctors
    if doctor is None:
        if len(doctors) != 1:
            raise UserError(
                f"{run.folder} holds several doctors ({', '.join(doctors)}): choose one with {flag}"
            )
        doctor = doctors[0]
    elif doctor not in doctors:
        raise UserError(f"{flag}: {run.folder} has no doctor {doctor!r} ({', '.join(doctors)})")
    records = {pair_key(r): r for r in run.records if r.cell.doctor == doctor}
    return Side(run, doctor, records)


@dataclass(frozen=True)
class Pairing:
    """The pairs both of whose sides count, and what was left out."""

    pairs: dict[PairKey, tuple[RunRecord, RunRecord]]
    only_a: int
    only_b: int
    failed: int
    """Pairs with a failed side (an infrastructure failure, not an outcome)."""
    spoiled: int
    """Pairs with a side the simulator spoiled (left out unless included)."""
    faults_included: bool = False


def pair_runs(a: Side, b: Side, *, include_faults: bool = False) -> Pairing:
    pairs: dict[PairKey, tuple[RunRecord, RunRecord]] = {}
    failed = spoiled = 0
    for key, first in a.records.items():
        second = b.records.get(key)
        if second is None:
            continue
        if first.failed or second.failed:
            failed += 1
        elif not include_faults and (
            is_simulator_fault(first.transcript) or is_simulator_fault(second.transcript)
        ):
            spoiled += 1
        else:
            pairs[key] = (first, second)
    both = a.records.keys() & b.records.keys()
    return Pairing(
        pairs,
        only_a=len(a.records.keys() - both),
        only_b=len(b.records.keys() - both),
        failed=failed,
        spoiled=spoiled,
        faults_included=include_faults,
    )


@dataclass(frozen=True, slots=True)
class Difference:
    """B - A in one score over one group of pairs."""

    score: str
    group: str
    effect: PairedEffect


def _groups(pairing: Pairing) -> list[tuple[str, list[PairKey]]]:
    """All pairs, then each persona x bias set when there are several."""
    by_group: dict[str, list[PairKey]] = {}
    for key in pairing.pairs:
        by_group.setdefault(f"{key[2]} · {key[3]}", []).append(key)
    groups = [(ALL, list(pairing.pairs))]
    return groups + sorted(by_group.items()) if len(by_group) > 1 else groups


def differences(pairing: Pairing) -> list[Difference]:
    """B - A per score and group; a pair missing the score on a side is left out of it
    (counted in the effect's ``unpaired``)."""
    found = []
    for score, label in SCORES:
        for group, keys in _groups(pairing):
            values = [
                {
                    key: value
                    for key in keys
                    if (value := pairing.pairs[key][at].transcript.score.as_dict().get(score))
                    is not None
                }
                for at in (0, 1)
            ]
            if values[0].keys() & values[1].keys():
                effect = paired_effect(values[1], values[0], confidence=CONFIDENCE)
                found.append(Difference(label, group, effect))
    return found


def comparison_markdown(a: Side, b: Side, pairing: Pairing, found: Sequence[Difference]) -> str:
    """The comparison as Markdown: who, how pairs were formed, the table, what was left out,
    and what differs between the two runs' experiments."""
    lines = [
        "# Comparison",
        "",
        f"- A: {a.name}",
        f"- B: {b.name}",
        "",
        "Pairs share dataset, case, persona, bias set, seed and repeat; the doctor may differ. "
        f"The difference is B - A with the Bonett-Price {CONFIDENCE:.0%} interval for paired "
        "proportions and an exact sign-flip p-value.",
        "",
        "| score | group | pairs | A | B | B - A [95% CI], p |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {d.score} | {d.group} | {d.effect.n} | {d.effect.control_mean:.1%} "
        f"| {d.effect.treated_mean:.1%} | {describe_effect(d.effect)} |"
        for d in found
    ]
    missing = max((d.effect.unpaired for d in found if d.group == ALL), default=0)
    spoiled = "kept" if pairing.faults_included else "left out"
    lines += [
        "",
        f"Left out: {pairing.only_a} cell(s) only in A, {pairing.only_b} only in B; "
        f"{pairing.failed} pair(s) with a failed side; {pairing.spoiled} pair(s) the simulator "
        f"spoiled ({spoiled}); {missing} pair(s) missing a score.",
    ]
    if a.run.experiment and b.run.experiment:
        changes = config_changes(a.run.experiment, b.run.experiment)
        listed = "; ".join(str(change) for change in changes) or "nothing"
        lines += ["", f"What differs between the runs' experiments (A -> B): {listed}."]
    return "\n".join(lines)


def plot(path: Path, found: Sequence[Difference]) -> Path:
    """A forest plot of the differences (matplotlib, the ``report`` extra)."""
    try:
        from clinic_env.runner import report_plots as plots  # noqa: PLC0415 - optional, slow
    except ImportError as exc:
        raise UserError(f"the plot needs matplotlib: {INSTALL_HINT} ({exc})") from None
    lines = [
        plots.EffectLine(f"{d.score}: {d.group}", d.effect, pooled=d.group == ALL) for d in found
    ]
    return plots.forest(
        path,
        title="B - A, paired by cell (95% CI)",
        xlabel="Difference in accuracy, B - A (percentage points)",
        lines=lines,
    )


def compare(args: argparse.Namespace) -> int:
    a = side(load_run(args.run_a), args.doctor_a, "--doctor-a")
    b = side(load_run(args.run_b), args.doctor_b, "--doctor-b")
    pairing = pair_runs(a, b, include_faults=args.include_simulator_faults)
    if not pairing.pairs:
        raise UserError(
            f"no consultation of {a.name} pairs with one of {b.name} (pairs share dataset, "
            f"case, persona, bias set, seed and repeat; {pairing.failed} pair(s) had a failed "
            f"side, {pairing.spoiled} a spoiled one)"
        )
    found = differences(pairing)
    default = f"{a.run.name}-vs-{b.run.name}".replace("/", "_")
    out: Path = args.out or Path("runs") / "compare" / default
    out.mkdir(parents=True, exist_ok=True)
    markdown = comparison_markdown(a, b, pairing, found)
    table = out / "comparison.md"
    table.write_text(markdown + "\n", encoding="utf-8")
    print(markdown)
    print(f"\nTable: {table}")
    if not args.no_plot and found:
        try:
            print(f"Plot: {plot(out / 'comparison.png', found)}")
        except UserError as exc:
            raise UserError(f"{exc}; the table is in {table}") from None
    return 0
