"""How fast the offline diagnosis matcher is: build, first comparisons, cached comparisons.

Prints the time to build the bundled matcher (table and terminology), and the cost per
verdict over the bundled labelled pairs when every text is new (cold caches) and when the
same pairs come again (warm caches, as in a batch run that scores the same answer space
millions of times). Run: ``python benchmarks/matcher_speed.py``.
"""

from __future__ import annotations

import time

from clinic_env.evaluators.calibration import load_pairs
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.matcher_table import load_synonym_table
from clinic_env.language.terminology import load_terminology


def main() -> None:
    start = time.perf_counter()
    table, terminology = load_synonym_table(), load_terminology()
    loaded = time.perf_counter()
    matcher = DiagnosisMatcher(table, terminology)
    built = time.perf_counter()
    print(
        f"load table + terminology: {loaded - start:.2f} s; build matcher: {built - loaded:.2f} s"
    )
    pairs = [(p.pred, p.gold) for p in load_pairs()]
    start = time.perf_counter()
    for pred, gold in pairs:
        matcher.verdict(pred, gold)
    cold = time.perf_counter() - start
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        for pred, gold in pairs:
            matcher.verdict(pred, gold)
    warm = (time.perf_counter() - start) / rounds
    per = len(pairs)
    print(
        f"{per} pairs: cold {cold / per * 1e6:.0f} us/verdict, "
        f"warm {warm / per * 1e6:.1f} us/verdict"
    )
    differential = [p for p, _ in pairs[:10]]
    start = time.perf_counter()
    for _ in range(2000):
        matcher.rank(differential, "Pulmonary embolism", ("PE",))
    print(f"rank over 10 entries (warm): {(time.perf_counter() - start) / 2000 * 1e6:.1f} us")


if __name__ == "__main__":
    main()
