"""Run folders for the page's tests: a real offline batch run with its report, and a
consultation played by hand whose messages hold markup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from clinic_env.datasets import find_case
from clinic_env.runner.experiment import CaseFilter, DatasetEntry, Experiment, Roles
from clinic_env.runner.report import write_report
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import TranscriptWriter
from clinic_env.session import create_session

MARKUP = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
"""What a hostile transcript might hold; the page must show it as text and run none of it."""


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    experiment = Experiment(
        name="small",
        datasets=(DatasetEntry(name="starter", cases=CaseFilter(limit=6)),),
        personas=("plain", "hostile"),
        roles=Roles(doctors={"systematic": "systematic", "random": "random"}),
    )
    run_experiment(experiment, root / "small", progress=False)
    write_report(root / "small")
    session = create_session(
        find_case("starter", "cardio-001"), dataset="starter", doctor="human", seed=3
    )

    async def play() -> None:
        await session.step(f"{MARKUP} Where is the pain?")
        await session.step(f"DIAGNOSIS READY: {MARKUP}")

    asyncio.run(play())
    with TranscriptWriter(root / "played") as writer:
        writer.write(session.transcript())
    return root
