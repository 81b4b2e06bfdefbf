"""Leak guard: the labelled set's figures and the guard's speed.

Run: ``python benchmarks/leak_guard.py [--rounds 20]`` from the repository root.

- Labelled set (``tests/language/fixtures/guard_sentences.yaml``): leaks caught (the exact
  expected text came back) and innocent sentences left untouched, overall and by kind, with
  every miss listed. Targets: >= 98% caught, >= 99% untouched.
- Speed, on the bundled cases: every text the roles can send (facts as the patient says
  them, exam findings, test results) as a reply through its case's guard, the way the
  session scrubs replies (with the doctor's names spared); the doctor's messages through
  ``names_in``; and the time to build one case's guard (built once per case, then cached).
  The target is about 20,000 replies a second.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the labelled set's reader lives with its test

from clinic_env.datasets.leaks import role_texts  # noqa: E402
from clinic_env.datasets.native import load_case_folder  # noqa: E402
from clinic_env.language.leak import LeakGuard, answer_names, guarded_names, leak_guard  # noqa: E402
from tests.language.test_leak import REPLACEMENT, labelled_set, measure  # noqa: E402

DOCTOR_MESSAGES = (
    "When did the pain start?",
    "Any fever, cough or weight loss?",
    "REQUEST TEST: Complete blood count",
    "REQUEST EXAM: chest",
    "Do you take any regular medicines?",
    "Does anyone in your family have heart disease?",
)


def labelled_figures() -> None:
    items = labelled_set()
    figures = measure(items)
    print(f"labelled set: {len(items)} sentences in {len({i.names for i in items})} groups")
    print(
        f"  leaks caught:       {figures.caught}/{figures.leaks} = {figures.caught_rate:.1%}"
        "  (target >= 98%)"
    )
    print(
        f"  innocent untouched: {figures.untouched}/{figures.innocent} = "
        f"{figures.untouched_rate:.1%}  (target >= 99%)"
    )
    missed = Counter(item.kind for item, _ in figures.misses)
    total = Counter(item.kind for item in items)
    leak_kinds = {item.kind for item in items if item.leak}
    for title, kinds in (
        ("leaks", sorted(leak_kinds)),
        ("innocent", sorted(set(total) - leak_kinds)),
    ):
        row = ", ".join(f"{k} {total[k] - missed[k]}/{total[k]}" for k in kinds)
        print(f"  {title} by kind: {row}")
    for item, got in figures.misses:
        print(f"  miss [{item.kind}] {item.names[0]}: {item.text!r} -> {got!r}")


def speed(rounds: int) -> None:
    cases = load_case_folder(ROOT / "cases" / "starter")
    names = [answer_names(case) for case in cases]
    LeakGuard(names[0], REPLACEMENT)  # word lists and the synonym table load once
    started = time.perf_counter()
    guards = [LeakGuard(case_names, REPLACEMENT) for case_names in names]
    built = (time.perf_counter() - started) / len(cases)
    replies = [
        (guard, text)
        for guard, case in zip(guards, cases, strict=True)
        for _, _, text in role_texts(case)
    ]
    spared = [
        guard.names_in(DOCTOR_MESSAGES[i % len(DOCTOR_MESSAGES)]) for i, guard in enumerate(guards)
    ]
    scrub_rate = _rate(
        rounds, [(g, t, spared[i % len(spared)]) for i, (g, t) in enumerate(replies)]
    )
    labelled = [
        (leak_guard(guarded_names(i.names[0], i.names[1:]), REPLACEMENT), i.text, frozenset())
        for i in labelled_set()
    ]
    labelled_rate = _rate(rounds, labelled)
    started = time.perf_counter()
    for _ in range(rounds):
        for guard in guards:
            for message in DOCTOR_MESSAGES:
                guard.names_in(message)
    names_rate = rounds * len(guards) * len(DOCTOR_MESSAGES) / (time.perf_counter() - started)
    mean = sum(len(text) for _, text in replies) / len(replies)
    print(
        f"speed on {len(cases)} bundled cases ({len(replies)} texts, {mean:.0f} characters each):"
    )
    print(f"  scrub, case texts as replies: {scrub_rate:,.0f} replies/s")
    print(f"  scrub, labelled sentences (half hold a mention): {labelled_rate:,.0f} sentences/s")
    print(f"  names_in, doctor messages: {names_rate:,.0f} messages/s")
    print(f"  building one case's guard: {built * 1000:.1f} ms (then cached per case)")


def _rate(rounds: int, work: list[tuple[LeakGuard, str, frozenset[str]]]) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for guard, text, spare_names in work:
            guard.scrub(text, spare_names=spare_names)
    return rounds * len(work) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the texts")
    args = parser.parse_args()
    labelled_figures()
    speed(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
