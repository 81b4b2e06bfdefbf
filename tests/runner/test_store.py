"""Run folders under stress: one writer at a time, one record per cell, records that cannot be
written, damaged files and full disks, each a one-line error that says what happened."""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import warnings
from pathlib import Path

import pytest

from clinic_env.cli.main import main
from clinic_env.errors import RunFolderError, RunLockedError, StoreWriteError
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.runner import run_experiment, run_in_process
from clinic_env.runner.store import (
    MANIFEST,
    RESULTS,
    DuplicateRecordsWarning,
    JsonlAppender,
    RunRecord,
    RunStore,
    read_records,
)
from clinic_env.schema.transcript import ModelCall
from clinic_env.testing.scripted import ScriptedTransport
from clinic_env.testing.stub_server import FaultRates, StubConfig, StubModelServer

GRID = {
    "name": "store",
    "datasets": [{"name": "starter", "cases": {"limit": 2}}],
    "personas": ["plain"],
    "roles": {"doctors": {"random": "random"}},
    "seeds": [0, 1],
}
CELLS = 4


def experiment(**changes) -> Experiment:
    return Experiment.model_validate({**GRID, **changes})


def grid_ids(exp: Experiment) -> list[str]:
    return [job.id for job in exp.jobs()]


def lines(folder: Path) -> list[str]:
    return (folder / RESULTS).read_text(encoding="utf-8").splitlines()


@pytest.fixture
def done(tmp_path: Path) -> Path:
    """A finished run folder of the four-cell grid."""
    folder = tmp_path / "run"
    run_experiment(experiment(), folder, progress=False)
    return folder


# ------------------------------------------------------------------ one writer at a time


def test_a_second_writer_is_refused_naming_the_first(done: Path):
    exp = experiment()
    with RunStore(done, exp, grid_ids(exp)), pytest.raises(RunLockedError) as refused:
        run_experiment(exp, done, progress=False)
    message = str(refused.value)
    assert f"pid {os.getpid()} on {socket.gethostname()}, since 20" in message
    assert "\n" not in message and "choose another --out" in message
    assert len(lines(done)) == CELLS


def test_a_second_eval_exits_with_one_line_and_the_first_is_untouched(
    done: Path, tmp_path: Path, capsys
):
    path = tmp_path / "experiment.yaml"
    path.write_text(json.dumps(GRID))
    exp = experiment()
    with RunStore(done, exp, grid_ids(exp)):
        status = main(["eval", str(path), "--out", str(done), "--quiet", "--no-report"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "being written by another run" in error


def test_retry_failed_cannot_race_a_running_writer(done: Path):
    """--retry-failed rewrites the file; under a writer that would lose its appends."""
    records = read_records(done / RESULTS)
    failed = records[0].transcript.model_copy(update={"outcome": "error", "error": "down"})
    records[0] = RunRecord(cell=records[0].cell, transcript=failed)
    (done / RESULTS).write_text("".join(r.model_dump_json() + "\n" for r in records))
    before = (done / RESULTS).read_bytes()
    exp = experiment()
    with RunStore(done, exp, grid_ids(exp)) as writer:
        with pytest.raises(RunLockedError):
            run_experiment(exp, done, retry_failed=True, progress=False)
        writer.add(records[1])  # the running writer's append survives
    assert (done / RESULTS).read_bytes() == before + (records[1].model_dump_json() + "\n").encode()


# --------------------------------------------------------------- one record per cell


def test_doubled_records_are_read_once_with_a_warning_and_removed_on_resume(done: Path):
    text = (done / RESULTS).read_text()
    (done / RESULTS).write_text(text + text)  # two writers each ran the whole grid
    with pytest.warns(DuplicateRecordsWarning, match="4 extra record"):
        assert len(read_records(done / RESULTS)) == CELLS
    with pytest.warns(DuplicateRecordsWarning, match="removed"):
        outcome = run_experiment(experiment(), done, progress=False)
    assert (outcome.skipped, outcome.ran) == (CELLS, 0)
    assert (done / RESULTS).read_text() == text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_records(done / RESULTS)


def test_of_doubled_records_the_one_that_did_not_fail_is_kept(done: Path):
    records = read_records(done / RESULTS)
    failed = records[2].transcript.model_copy(update={"outcome": "error", "error": "down"})
    doubled = [RunRecord(cell=records[2].cell, transcript=failed), *records]
    (done / RESULTS).write_text("".join(r.model_dump_json() + "\n" for r in doubled))
    with pytest.warns(DuplicateRecordsWarning):
        kept = read_records(done / RESULTS)
    assert len(kept) == CELLS and not any(r.failed for r in kept)


def test_records_of_cells_outside_the_grid_are_refused(done: Path):
    record = read_records(done / RESULTS)[0]
    stranger = record.cell.model_copy(update={"case_id": "not-in-the-grid"})
    with (done / RESULTS).open("a") as results:
        results.write(RunRecord(cell=stranger, transcript=record.transcript).model_dump_json())
        results.write("\n")
    with pytest.raises(RunFolderError, match=r"1 record.* outside this experiment's grid"):
        run_experiment(experiment(), done, progress=False)


def test_a_grid_that_changed_under_the_same_config_is_refused(done: Path):
    manifest = json.loads((done / MANIFEST).read_text())
    manifest["grid"]["cells"] = 5
    manifest["grid"]["digest"] = "0" * 16  # as if a dataset file had been edited since
    (done / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="grid changed since this run began"):
        run_experiment(experiment(), done, progress=False)


# ------------------------------------------------------- records that cannot be written


def unchecked(transcript, **fields):
    """A transcript built without validation, holding what validation would refuse."""
    return type(transcript).model_construct(**{**dict(transcript), **fields})


def poisoning_runner(poison):
    """The in-process runner, with the second cell's transcript replaced by ``poison(it)``."""

    def run(exp, jobs, client, on_done):
        def deliver(job, transcript):
            on_done(job, poison(transcript) if job is jobs[1] else transcript)

        run_in_process(exp, jobs, client, deliver)

    return run


INFINITE_CALL = ModelCall.model_construct(
    role="patient", turn=1, key="k", prompt_tokens=1, completion_tokens=1, cost_usd=float("inf")
)


@pytest.mark.parametrize(
    "fields",
    [{"error": object()}, {"model_calls": (INFINITE_CALL,)}],
    ids=["not JSON at all", "a non-finite number, once written as null"],
)
def test_a_record_that_cannot_be_written_fails_its_cell_and_never_the_batch(
    tmp_path: Path, fields: dict
):
    runner = poisoning_runner(lambda transcript: unchecked(transcript, **fields))
    outcome = run_experiment(experiment(), tmp_path, runner=runner, progress=False)
    assert (outcome.ran, outcome.failed) == (CELLS, 1)
    records = read_records(tmp_path / RESULTS)
    assert len(records) == CELLS
    (failure,) = [r for r in records if r.failed]
    assert failure.transcript.error.startswith("RecordWriteError: ")


def test_text_that_got_as_far_as_the_store_is_made_valid_there(tmp_path: Path):
    runner = poisoning_runner(
        lambda transcript: unchecked(transcript, opening_observation="\ud800")
    )
    outcome = run_experiment(experiment(), tmp_path, runner=runner, progress=False)
    assert (outcome.ran, outcome.failed) == (CELLS, 0)
    openings = [r.transcript.opening_observation for r in read_records(tmp_path / RESULTS)]
    assert "\ufffd" in openings


def test_a_poisoned_model_reply_is_saved_with_its_text_made_valid(tmp_path: Path):
    """A lone surrogate in a reply used to stop the run at the store, on every resume."""
    model = ModelConfig(model="openai/stub", api_base="http://127.0.0.1:9/v1", max_retries=0)
    transport = ScriptedTransport({"patient": ["It hurts \ud800 here."]})
    exp = experiment(roles={"patient": model, "doctors": {"random": "random"}})
    outcome = run_experiment(exp, tmp_path, client=ModelClient(transport=transport), progress=False)
    assert outcome.ran == CELLS
    text = (tmp_path / RESULTS).read_text(encoding="utf-8")
    assert "It hurts \ufffd here." in text
    assert len(read_records(tmp_path / RESULTS)) == CELLS


# ------------------------------------------------------- damaged files, one line each


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "is empty"), (b'{"config_hash": "ab', "is damaged"), (b"[1, 2]", "not a clinic-env")],
)
def test_an_empty_or_damaged_manifest_is_one_line(done: Path, content: bytes, problem: str):
    (done / MANIFEST).write_bytes(content)
    with pytest.raises(RunFolderError, match=problem) as error:
        run_experiment(experiment(), done, progress=False)
    assert "\n" not in str(error.value) and MANIFEST in str(error.value)


def test_a_read_only_run_folder_is_one_line(tmp_path: Path, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(
        RunFolderError, match=r"cannot be written \(Read-only file system\)"
    ) as error:
        run_experiment(experiment(), tmp_path, progress=False)
    assert "\n" not in str(error.value)


def test_a_full_disk_stops_the_run_keeping_what_was_saved(tmp_path: Path, monkeypatch):
    real_fsync = os.fsync

    def fill_up(fd: int) -> None:
        path = Path(f"/proc/self/fd/{fd}").readlink()
        if path.name == RESULTS and len(path.read_bytes().splitlines()) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")  # the third does not fit
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fill_up)
    with pytest.raises(StoreWriteError, match=r"No space left on device.*resume") as error:
        run_experiment(experiment(concurrency=1), tmp_path, progress=False)
    assert "\n" not in str(error.value)
    monkeypatch.undo()
    outcome = run_experiment(experiment(), tmp_path, progress=False)
    assert outcome.skipped >= 2 and outcome.skipped + outcome.ran == CELLS
    assert len(read_records(tmp_path / RESULTS)) == CELLS


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"cell": {"dataset": "starter", "case_id": "x"', "truncated line 3"),
        (b'{"cell": {"dataset": "caf\xe9"}}', "not UTF-8 text .byte offset"),
        (b"[" * 400 + b"]" * 400, "nested too deeply"),
        (b'{"cell": {"dataset": "s", "case_id": "x", "seed": Infinity}}', "finite number"),
    ],
)
def test_a_bad_results_line_is_named(done: Path, line: bytes, problem: str):
    results = done / RESULTS
    kept = results.read_bytes().splitlines(keepends=True)[:2]
    results.write_bytes(b"".join(kept) + line + b"\n")
    with pytest.raises(RunFolderError, match=problem) as error:
        read_records(results)
    assert str(error.value).startswith(f"{results}:3")
    assert "control character" not in str(error.value)


# ---------------------------------------- what the config hash leaves out, and credentials


def test_server_address_retries_and_timeouts_change_no_hash_and_are_in_the_manifest(
    tmp_path: Path,
):
    model = {"model": "openai/stub", "api_base": "http://127.0.0.1:9/v1"}
    first = experiment(roles={"patient": model, "doctors": {"random": "random"}})
    moved = {**model, "api_base": "http://10.0.0.7:8000/v1", "max_retries": 9, "timeout_s": 5}
    second = experiment(roles={"patient": moved, "doctors": {"random": "random"}}, concurrency=3)
    assert first.config_hash() == second.config_hash()
    other = {**model, "temperature": 0.7}
    assert first.config_hash() != experiment(roles={"patient": other}).config_hash()

    transport = ScriptedTransport({"patient": ["Two days."]})
    run_experiment(first, tmp_path, client=ModelClient(transport=transport), progress=False)
    outcome = run_experiment(
        second, tmp_path, client=ModelClient(transport=transport), progress=False
    )
    assert (outcome.skipped, outcome.ran) == (CELLS, 0)
    sessions = json.loads((tmp_path / MANIFEST).read_text())["sessions"]
    assert [s["settings"]["models"]["patient"]["api_base"] for s in sessions] == [
        "http://127.0.0.1:9/v1",
        "http://10.0.0.7:8000/v1",
    ]
    assert sessions[1]["settings"]["models"]["patient"]["max_retries"] == 9


def test_credentials_in_a_server_url_are_written_nowhere(tmp_path: Path, capsys):
    always_500 = StubConfig(faults=FaultRates(error_500=1.0))
    with StubModelServer(always_500) as server:
        base = server.base_url.replace("http://", "http://alice:s3cret-pass@")
        model = {"model": "openai/stub", "api_base": base, "max_retries": 0}
        path = tmp_path / "experiment.yaml"
        roles = {"patient": model, "doctors": {"r": "random"}}
        path.write_text(json.dumps({**GRID, "roles": roles}))
        folder = tmp_path / "run"
        status = main(["eval", str(path), "--out", str(folder), "--quiet", "--no-report"])
    for name in (MANIFEST, RESULTS):
        text = (folder / name).read_text()
        assert "s3cret-pass" not in text and "alice" not in text
    assert server.base_url in (folder / MANIFEST).read_text()
    # every cell failed the same way: the run says so in one line and fails
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1
    assert f"all {CELLS} consultations run failed with the same error" in error
    assert "--retry-failed" in error and "s3cret-pass" not in error


def test_a_server_that_does_not_answer_stops_the_run_before_it_starts(tmp_path: Path, capsys):
    model = {"model": "openai/stub", "api_base": "http://127.0.0.1:9/v1"}
    path = tmp_path / "experiment.yaml"
    path.write_text(json.dumps({**GRID, "roles": {"patient": model, "doctors": {"r": "random"}}}))
    status = main(["eval", str(path), "--out", str(tmp_path / "run"), "--quiet", "--no-report"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1
    assert "patient: cannot reach the server at 127.0.0.1:9" in error
    assert not (tmp_path / "run").exists(), "nothing recorded for a run that could not start"


def test_records_are_flushed_at_once_and_synced_off_the_calling_thread(tmp_path: Path, monkeypatch):
    """The event loop never waits on the disk: every line is in the file when append
    returns, and the fsync that follows runs on another thread."""
    real_fsync, syncing_threads = os.fsync, []

    def watched(fd: int) -> None:
        syncing_threads.append(threading.current_thread())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watched)
    path = tmp_path / "lines.jsonl"
    with JsonlAppender(path) as appender:
        for number in range(50):
            appender.append(f'{{"n": {number}}}')
            assert len(path.read_bytes().splitlines()) == number + 1
    assert syncing_threads, "the file was never synced"
    assert threading.main_thread() not in syncing_threads
