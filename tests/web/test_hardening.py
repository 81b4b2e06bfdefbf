"""The page opens only what it was given, keeps few plays, and no input breaks a result."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from clinic_env.errors import UnknownNameError, UserError
from clinic_env.runner.store import RESULTS, TRANSCRIPTS, read_transcripts
from clinic_env.web import shelf as shelf_module
from clinic_env.web.app import WebSettings, create_app
from clinic_env.web.play import PlayRequest, PlayRoom
from clinic_env.web.shelf import DatasetShelf
from tests.helpers.cases import MINIMAL_CASE

CHOICES = {
    "patient": {"offline": "offline"},
    "measurement": {"offline": "offline"},
    "doctor": {"systematic": "systematic"},
}


def case_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(MINIMAL_CASE) + "\n")
    return path


def results_naming(run: Path, dataset: str, error: str | None = None) -> None:
    """A run whose one record says its case came from ``dataset`` (anyone can write that)."""
    record = {
        "cell": {"id": "c1", "persona": "plain", "biases": [], "doctor": "d"},
        "transcript": {
            "id": "t1",
            "case_id": MINIMAL_CASE["id"],
            "dataset": dataset,
            "outcome": "error" if error else "ended",
            "error": error,
            "turns": [],
        },
    }
    run.mkdir(parents=True, exist_ok=True)
    (run / RESULTS).write_text(json.dumps(record) + "\n")


def detail(root: Path, run: str, **settings) -> dict:
    with TestClient(create_app(WebSettings(runs=root, **settings))) as client:
        response = client.get("/api/runs/consultation", params={"run": run, "index": 0})
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------- which datasets are opened


def test_a_fifo_or_a_device_named_by_a_results_file_is_refused_never_read(tmp_path: Path):
    fifo = tmp_path / "runs" / "trap.jsonl"
    fifo.parent.mkdir()
    os.mkfifo(fifo)  # reading it would block a worker thread for good
    shelf = DatasetShelf((), tmp_path / "runs")
    with pytest.raises(UserError, match="not a regular file"):
        shelf.cases(str(fifo), browsing=True)
    with pytest.raises(UserError, match="not offered"):
        shelf.cases("/dev/zero", browsing=True)
    for dataset in (str(fifo), "/dev/zero"):
        results_naming(tmp_path / "runs" / "hostile", dataset)
        assert detail(tmp_path / "runs", "hostile")["case"] is None


def test_a_dataset_outside_the_runs_folder_is_not_opened_one_inside_is(tmp_path: Path):
    outside = case_file(tmp_path / "elsewhere" / "cases.jsonl")
    inside = case_file(tmp_path / "runs" / "data" / "cases.jsonl")
    results_naming(tmp_path / "runs" / "a", str(outside))
    results_naming(tmp_path / "runs" / "b", str(inside))
    assert detail(tmp_path / "runs", "a")["case"] is None
    assert detail(tmp_path / "runs", "b")["case"]["diagnosis"] == "Gout"
    given = detail(tmp_path / "runs", "a", datasets=(str(outside),))  # --dataset opens it
    assert given["case"]["diagnosis"] == "Gout"


def test_a_path_through_a_link_out_of_the_runs_folder_is_not_opened(tmp_path: Path):
    outside = case_file(tmp_path / "elsewhere" / "cases.jsonl")
    link = tmp_path / "runs" / "link.jsonl"
    link.parent.mkdir()
    link.symlink_to(outside)
    with pytest.raises(UserError, match="not offered"):
        DatasetShelf((), tmp_path / "runs").cases(str(link), browsing=True)


def test_a_dataset_over_the_size_cap_is_refused(tmp_path: Path):
    path = case_file(tmp_path / "cases.jsonl")
    shelf = DatasetShelf((str(path),), tmp_path, max_bytes=100)
    with pytest.raises(UserError, match="over 0 MiB"):
        shelf.cases(str(path))


def test_a_path_dataset_is_read_once_until_it_changes(tmp_path: Path, monkeypatch):
    path = case_file(tmp_path / "cases.jsonl")
    reads = []
    real = shelf_module.load_cases
    monkeypatch.setattr(shelf_module, "load_cases", lambda p: reads.append(p) or real(p))
    shelf = DatasetShelf((str(path),), tmp_path)
    first = shelf.cases(str(path))
    assert shelf.cases(str(path)) is first and len(reads) == 1
    path.write_text(json.dumps({**MINIMAL_CASE, "id": "test-002"}) + "\n")
    assert [case.id for case in shelf.cases(str(path))] == ["test-002"] and len(reads) == 2


def test_a_play_reads_its_path_dataset_off_the_event_loop(tmp_path: Path, monkeypatch):
    path = case_file(tmp_path / "cases.jsonl")
    loops = []
    real = DatasetShelf.cases

    def cases(self, dataset, **kwargs):
        try:
            loops.append(asyncio.get_running_loop())
        except RuntimeError:
            loops.append(None)
        return real(self, dataset, **kwargs)

    monkeypatch.setattr(DatasetShelf, "cases", cases)
    settings = WebSettings(runs=tmp_path, datasets=(str(path),))
    with TestClient(create_app(settings)) as client:
        started = client.post("/api/play", json={"dataset": str(path)})
    assert started.status_code == 200, started.text
    assert loops == [None], "the dataset was read on the event loop"


# ------------------------------------------------------------------- plays kept and let go


def test_a_player_abandons_a_play_which_frees_its_slot_unsaved(tmp_path: Path):
    settings = WebSettings(runs=tmp_path, play_out=tmp_path / "web-play")
    with TestClient(create_app(settings)) as client:
        play = client.post("/api/play", json={"case_id": "cardio-001"}).json()
        gone = client.post(f"/api/play/{play['id']}/abandon")
        assert gone.status_code == 200 and gone.json() == {"abandoned": True, "saved_to": None}
        after = client.post(f"/api/play/{play['id']}/message", json={"text": "Hello?"})
        assert after.status_code == 404
    assert not (tmp_path / "web-play" / TRANSCRIPTS).exists()


def test_finished_plays_are_saved_then_let_go_beyond_the_cap(tmp_path: Path):
    async def scenario() -> tuple[list[bool], PlayRoom]:
        room = PlayRoom(tmp_path, CHOICES, DatasetShelf((), tmp_path), max_finished=2)
        ids = []
        for _ in range(3):
            play = await room.start(PlayRequest(case_id="cardio-001"))
            await room.say(play["id"], "DIAGNOSIS READY: Myocardial infarction")
            ids.append(play["id"])
        await room.start(PlayRequest(case_id="cardio-001"))  # any request sweeps
        return [play_id in room.plays for play_id in ids], room

    kept, room = asyncio.run(scenario())
    assert kept == [False, True, True]
    assert len(room.plays) == 3  # two finished, one under way
    assert len(read_transcripts(tmp_path / TRANSCRIPTS)) == 3


def test_open_plays_are_capped_and_abandoning_one_makes_room(tmp_path: Path):
    async def scenario() -> None:
        room = PlayRoom(tmp_path, CHOICES, DatasetShelf((), tmp_path), max_open=1)
        first = await room.start(PlayRequest(case_id="cardio-001"))
        with pytest.raises(UserError, match="finish or abandon one first"):
            await room.start(PlayRequest(case_id="cardio-001"))
        room.abandon(first["id"])
        await room.start(PlayRequest(case_id="cardio-001"))
        with pytest.raises(UnknownNameError):
            room.get(first["id"])

    asyncio.run(scenario())


# ---------------------------------------------- no oracle in the case list, no 500 on input


def test_the_case_list_shows_nothing_a_random_play_shows(tmp_path: Path):
    settings = WebSettings(runs=tmp_path, play_out=tmp_path / "web-play")
    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/cases", params={"dataset": "starter"}).json()
        play = client.post("/api/play", json={"seed": 7}).json()
    assert {key for entry in listed for key in entry} == {"id"}
    assert play["case_id"] is None
    shown = {str(value) for value in play.values()}
    assert not shown & {entry["id"] for entry in listed}


def test_a_lone_surrogate_in_a_message_never_breaks_the_result_and_the_play_is_saved(
    tmp_path: Path,
):
    settings = WebSettings(runs=tmp_path, play_out=tmp_path / "web-play")
    with TestClient(create_app(settings)) as client:
        play = client.post("/api/play", json={"case_id": "cardio-001"}).json()
        url = f"/api/play/{play['id']}"
        poisoned = b'{"text": "Where does it hurt \\ud800?"}'  # the JSON escape itself
        headers = {"content-type": "application/json"}
        assert client.post(f"{url}/message", content=poisoned, headers=headers).status_code == 200
        ending = b'{"text": "DIAGNOSIS READY: Myocardial infarction \\udfff"}'
        ended = client.post(f"{url}/message", content=ending, headers=headers)
        assert ended.status_code == 200 and ended.json()["done"]
        for _ in range(2):
            result = client.get(f"{url}/result")
            assert result.status_code == 200 and result.json()["saved_to"]
    (saved,) = read_transcripts(tmp_path / "web-play" / TRANSCRIPTS)
    assert saved.turns[0].doctor_message == "Where does it hurt \ufffd?"


def test_the_runs_view_never_sends_credentials_from_a_server_url(tmp_path: Path):
    error = "ModelCallError: http://bob:hunter2@10.0.0.5:8000/v1 refused the connection"
    results_naming(tmp_path / "run", "starter", error=error)
    sent = json.dumps(detail(tmp_path, "run"))
    assert "hunter2" not in sent and "bob" not in sent
    assert "http://10.0.0.5:8000/v1" in sent
