"""Browsing a large run: index build, filtered pages and one transcript, through the web API.

Run: ``python benchmarks/web_browse.py [--consultations N]``. Writes a run folder of N
records (default 100,000), made from real offline consultations of the bundled cases with
their persona, doctor and outcome varied, then asks the page's API what the page asks: the
facets (the first request indexes the file), pages of 50 rows under several filters, a page
far down the run, and single transcripts. It prints each request's time and response size,
the process's peak memory, and the time to pick up records appended afterwards. The issue's goal:
a 100,000-consultation run stays responsive and is never sent whole to the browser.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from clinic_env.datasets import load_cases
from clinic_env.runner.store import RESULTS
from clinic_env.session import create_doctor, create_session, run_consultation
from clinic_env.web.app import WebSettings, create_app

PERSONAS = ("plain", "anxious", "hostile", "taciturn")
DOCTORS = ("systematic", "random")


def template_records() -> list[dict]:
    """One real consultation per bundled case and doctor, as RunRecord-shaped dicts."""
    records = []
    for case in load_cases("starter"):
        for doctor in DOCTORS:
            session = create_session(case, dataset="starter", doctor=doctor, seed=1)
            transcript = asyncio.run(run_consultation(session, create_doctor(doctor, session)))
            cell = {"dataset": "starter", "case_id": case.id, "doctor": doctor, "biases": []}
            records.append({"cell": cell, "transcript": transcript.model_dump(mode="json")})
    return records


def write_run(folder: Path, count: int) -> int:
    templates = template_records()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / RESULTS).open("w", encoding="utf-8") as out:
        for number in range(count):
            record = templates[number % len(templates)]
            persona = PERSONAS[(number // len(templates)) % len(PERSONAS)]
            cell = {**record["cell"], "persona": persona, "seed": number}
            cell["id"] = f"starter/{cell['case_id']}/{persona}/none/{cell['doctor']}/{number}.0"
            transcript = {**record["transcript"], "persona": persona, "seed": number}
            line = json.dumps({"cell": cell, "transcript": transcript}, separators=(",", ":"))
            out.write(line + "\n")  # compact, as the run store writes it
    return (folder / RESULTS).stat().st_size


def timed(client: TestClient, path: str, **params: object) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultations", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        size = write_run(root / "big", args.consultations)
        writing = time.perf_counter() - started
        print(f"wrote {args.consultations:,} records ({size / 1e9:.2f} GB) in {writing:.1f} s")
        client = TestClient(create_app(WebSettings(runs=root)))
        first, _ = timed(client, "/api/runs/rows", run="big", limit=50)
        print(f"first page (indexing goes on behind it): {first * 1e3:.0f} ms")
        while not client.get("/api/runs/facets", params={"run": "big"}).json()["indexing"]["done"]:
            time.sleep(0.2)
        indexed = time.perf_counter() - started - writing
        rate = args.consultations / indexed
        print(f"whole run indexed after {indexed:.1f} s ({rate:,.0f} records/s)")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        print(f"process peak memory (writer and server together): {peak_mb:.0f} MB")
        queries = {
            "page 1, no filter": {},
            "persona=hostile": {"persona": "hostile"},
            "doctor=random, result=wrong": {"doctor": "random", "result": "wrong"},
            "far page (offset 90% in)": {"offset": int(args.consultations * 0.9)},
        }
        for label, filters in queries.items():
            times, size = [], 0
            for _ in range(args.repeats):
                elapsed, size = timed(client, "/api/runs/rows", run="big", limit=50, **filters)
                times.append(elapsed)
            print(
                f"rows {label:<30} median {statistics.median(times) * 1e3:6.1f} ms, "
                f"max {max(times) * 1e3:6.1f} ms, {size / 1e3:.1f} kB"
            )
        times = []
        for _ in range(args.repeats):
            elapsed, size = timed(client, "/api/runs/facets", run="big", persona="hostile")
            times.append(elapsed)
        print(
            f"facets narrowed, persona=hostile    median {statistics.median(times) * 1e3:6.1f} "
            f"ms, max {max(times) * 1e3:6.1f} ms"
        )
        times = []
        for number in range(0, args.consultations, max(1, args.consultations // args.repeats)):
            elapsed, size = timed(client, "/api/runs/consultation", run="big", index=number)
            times.append(elapsed)
        print(
            f"one transcript                         median {statistics.median(times) * 1e3:6.1f} "
            f"ms, max {max(times) * 1e3:6.1f} ms, {size / 1e3:.1f} kB"
        )
        lines = (root / "big" / RESULTS).read_text(encoding="utf-8").splitlines()[:1000]
        with (root / "big" / RESULTS).open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        elapsed, _ = timed(client, "/api/runs/rows", run="big", limit=50)
        print(f"after 1,000 records appended: next page in {elapsed * 1e3:.1f} ms (incremental)")


if __name__ == "__main__":
    main()
