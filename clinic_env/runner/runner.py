"""Running an experiment into a run folder: resume, extension, progress, clean interruption.

Each finished consultation is appended to the store before the next one is counted, so a
run stopped by Ctrl-C, a crash or SIGKILL loses at most the consultations in flight, and
running the same command again picks up where it stopped. A folder can be extended by an
experiment that only adds cases, personas, bias sets, seeds or repeats (see
:func:`extend_run`); any other change is refused, saying what changed.
"""

from __future__ import annotations

import asyncio
import json
import time
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from clinic_env.bridge import run_sync
from clinic_env.errors import ClinicEnvError, RunFolderError
from clinic_env.llm.client import ModelClient
from clinic_env.runner.batch import Batch, Job
from clinic_env.runner.experiment import (
    EXTENDING_FIELDS,
    LABEL_FIELDS,
    Experiment,
    config_changes,
)
from clinic_env.runner.grid import Grid, PendingJobs
from clinic_env.runner.heap import run_heap
from clinic_env.runner.store import (
    MANIFEST,
    FolderLock,
    RunRecord,
    RunStore,
    read_manifest,
    write_atomically,
)
from clinic_env.schema.base import strip_url_credentials
from clinic_env.schema.transcript import Transcript


@dataclass
class Tally:
    """What the progress bar shows: done, failed, accuracy, tokens, cost and calls/s so far."""

    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    failed: int = 0
    correct: int = 0
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def add(self, transcript: Transcript) -> None:
        self.done += 1
        self.failed += transcript.outcome == "error"
        self.correct += transcript.score.as_dict().get("top1") == 1.0
        self.calls += len(transcript.model_calls)
        for call in transcript.model_calls:
            self.tokens += call.prompt_tokens + call.completion_tokens
            self.cost_usd += call.cost_usd

    def postfix(self) -> dict[str, str]:
        scored = self.done - self.failed
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return {
            "failed": str(self.failed),
            "accuracy": f"{self.correct / scored:.1%}" if scored else "-",
            "tokens": f"{self.tokens:,}",
            "cost": f"${self.cost_usd:.2f}",
            "calls/s": f"{self.calls / elapsed:.1f}",
        }


@dataclass(frozen=True)
class RunOutcome:
    folder: Path
    cells: int
    skipped: int
    ran: int
    failed: int
    interrupted: bool
    errors: Counter[str] = field(default_factory=Counter)
    """The errors of the consultations that failed in this session, counted."""
    extended: tuple[str, ...] = ()
    """What this session added to the folder's experiment (see :func:`extend_run`)."""

    @property
    def common_failure(self) -> str | None:
        """The one error every consultation run now failed with (a bad model config, say),
        which a face reports as the run's failure rather than as results."""
        if self.ran and self.failed == self.ran and len(self.errors) == 1:
            return next(iter(self.errors))
        return None


def make_batch(experiment: Experiment, client: ModelClient | None = None) -> Batch:
    """The batch every cell of the experiment runs in."""
    roles = experiment.roles
    first_doctor = next(iter(roles.doctors.values()))
    return Batch(
        dataset=experiment.datasets[0].name,
        doctor=first_doctor,
        doctors=roles.doctors,
        session_options={
            "patient": roles.patient,
            "measurement": roles.measurement,
            "judge": roles.judge,
            "reward": experiment.reward,
            "evaluators": experiment.evaluators,
            "max_turns": experiment.max_turns,
            "show_options": experiment.show_options,
        },
        client=client,
    )


def pending_jobs(grid: Grid, store: RunStore, retry_failed: bool) -> tuple[PendingJobs, int]:
    """The cells still to run, in grid order, and how many are skipped as already done.

    Only the store's cell ids are read, and what is pending is a list of grid positions (8
    bytes a cell), so planning a resumed run costs no more than a fresh one.
    """
    status = store.cell_status()
    if retry_failed:
        store.forget([cell for cell, failed in status.items() if failed])
    if not status:
        return PendingJobs(grid), 0
    done = bytearray(len(grid))
    for cell in status:
        position = grid.position(cell)
        if position is not None:  # the store refused records of other cells
            done[position] = 1
    positions = array("q", (position for position, held in enumerate(done) if not held))
    return PendingJobs(grid, positions), len(grid) - len(positions)


Runner = Callable[
    [Experiment, Sequence[Job], ModelClient | None, Callable[[Job, Transcript], None]], None
]
"""Plays the jobs of an experiment and calls back in this process with each one as it ends.

It gets the experiment and the client rather than a built batch, because a batch cannot
travel: a Ray worker rebuilds its own from them (see :mod:`clinic_env.runner.ray_runner`).
The jobs are a lazy sequence (:class:`~clinic_env.runner.grid.PendingJobs` from
:func:`run_experiment`) that builds each job when asked: pull them, never list them all.
"""


def run_in_process(
    experiment: Experiment,
    jobs: Sequence[Job],
    client: ModelClient | None,
    on_done: Callable[[Job, Transcript], None],
) -> None:
    """Every job in this process, on one event loop, pulled as consultations end.

    Inside a running loop (a Jupyter cell) the batch runs on the bridge's own loop thread,
    since ``asyncio.run`` cannot nest.
    """
    batch = make_batch(experiment, client)
    work = batch.play(jobs, concurrency=experiment.concurrency, on_done=on_done)
    if _loop_running():
        run_sync(work)
    else:
        asyncio.run(work)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def extend_run(folder: Path, experiment: Experiment, cells: Collection[str]) -> tuple[str, ...]:
    """Make ``folder``'s run one of ``experiment`` when that only adds cells to it.

    The folder's experiment may differ from ``experiment`` only in what chooses cells
    (:data:`~clinic_env.runner.experiment.EXTENDING_FIELDS`) and in its name, and every cell
    it had must still be in ``cells`` (the new grid): then the manifest takes the new
    experiment (the change is recorded under ``extensions``), the old records are kept and
    the new cells run. Anything else is refused with every change listed.

    Returns:
        The changes, readable (none when the folder is new or already holds ``experiment``).

    Raises:
        RunFolderError: the folder holds a run of an experiment this one does not extend.
    """
    if not (folder / MANIFEST).exists():
        return ()
    lock = FolderLock(folder)
    lock.acquire()
    try:
        manifest = read_manifest(folder)
        held = manifest.get("config_hash")
        if held in (experiment.config_hash(), experiment.legacy_config_hash()):
            return ()
        before = manifest.get("experiment")
        changes = config_changes(
            before if isinstance(before, dict) else {}, experiment.model_dump(mode="json")
        )
        listed = "; ".join(map(str, changes)) or f"config hash {held}"

        def refuse(why: str) -> RunFolderError:
            return RunFolderError(
                f"{folder} holds a run of another experiment ({listed}): {why}; "
                "choose another --out"
            )

        if any(c.field not in EXTENDING_FIELDS | LABEL_FIELDS for c in changes):
            raise refuse(
                "a run is extended only by adding cases, personas, bias sets, seeds or repeats"
            )
        try:
            old_grid = Experiment.model_validate(before).jobs()
        except (ValidationError, ClinicEnvError) as exc:
            raise refuse(f"its own experiment no longer expands ({exc})") from None
        if (manifest.get("grid") or {}).get("cells", len(old_grid)) != len(old_grid):
            raise refuse("its grid changed since it began (was a dataset or content file edited?)")
        wanted = set(cells) if isinstance(cells, Sequence) else cells
        dropped = (cell for cell in old_grid.ids() if cell not in wanted)
        if (first := next(dropped, None)) is not None:
            raise refuse(
                f"{1 + sum(1 for _ in dropped)} of its cells would be left out (first: "
                f"{first}), and a run is extended only by adding"
            )
        manifest["experiment"] = experiment.model_dump(mode="json")
        manifest["config_hash"] = experiment.config_hash()
        manifest.pop("grid", None)  # the store records the new grid when it opens the folder
        described = tuple(str(change) for change in changes)
        record = {"from_config_hash": held, "changes": list(described)}
        manifest["extensions"] = [*manifest.get("extensions", ()), record]
        text = strip_url_credentials(json.dumps(manifest, indent=2)) + "\n"
        write_atomically(folder / MANIFEST, text)
        return described
    finally:
        lock.release()


def run_experiment(
    experiment: Experiment,
    folder: Path,
    *,
    retry_failed: bool = False,
    client: ModelClient | None = None,
    runner: Runner = run_in_process,
    progress: bool = True,
) -> RunOutcome:
    """Run (or resume) ``experiment`` into ``folder``, holding the folder's lock throughout
    (a second writer is refused; see :class:`~clinic_env.runner.store.RunStore`)."""
    experiment.check(client)
    grid = experiment.jobs()
    cells = grid.cell_ids
    extended = extend_run(folder, experiment, cells)
    with RunStore(folder, experiment, cells) as store:
        jobs, skipped = pending_jobs(grid, store, retry_failed)
        tally = Tally()
        errors: Counter[str] = Counter()
        bar = tqdm(total=len(jobs), unit="consultation", disable=not progress)

        def on_done(job: Job, transcript: Transcript) -> None:
            saved = store.add(RunRecord(cell=job.cell, transcript=transcript)).transcript
            tally.add(saved)
            if saved.outcome == "error":
                errors[strip_url_credentials(saved.error or "unknown error")] += 1
            bar.update(1)
            bar.set_postfix(tally.postfix(), refresh=False)

        interrupted = False
        try:
            with run_heap():
                runner(experiment, jobs, client, on_done)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    return RunOutcome(
        folder,
        len(grid),
        skipped,
        tally.done,
        tally.failed,
        interrupted,
        errors=errors,
        extended=extended,
    )
