"""Playing through the page's API: as the doctor and as the patient, with the proof that the
answer never reaches the browser before the end, and that no model key ever does."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from clinic_env.datasets import load_cases
from clinic_env.language.text import contains_phrase
from clinic_env.llm.config import ModelConfig
from clinic_env.runner.store import TRANSCRIPTS, read_transcripts
from clinic_env.testing.stub_server import (
    FaultRates,
    ReplyScript,
    StubConfig,
    StubModelServer,
)
from clinic_env.web.app import SECURITY_HEADERS, WebSettings, create_app
from tests.helpers.adversarial import ADVERSARIAL_QUESTIONS
from tests.helpers.cases import MINIMAL_CASE, write_yaml

COMMANDS = (
    "REQUEST EXAM: full physical",
    "REQUEST EXAM: abdomen",
    "REQUEST TEST: CBC",
    "REQUEST TEST: chest x-ray",
    "REQUEST IMAGES",
)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def mentions(response_text: str, names: list[str]) -> list[str]:
    """The answer names found in a response, in its raw text or any decoded string."""
    texts = [response_text, *strings(json.loads(response_text))]
    return [n for n in names if any(contains_phrase(text, n) for text in texts)]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = WebSettings(runs=tmp_path, play_out=tmp_path / "web-play")
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_response_during_play_hides_the_answer_which_comes_only_at_the_end(client):
    checked = 0
    cases = load_cases("starter")
    for case in cases:
        names = [case.ground_truth.diagnosis, *case.ground_truth.aliases]
        start = client.post("/api/play", json={"case_id": case.id, "seed": 5, "max_turns": 30})
        assert start.status_code == 200
        play = start.json()["id"]
        responses = [start, client.get("/api/options"), client.get("/api/cases")]
        for message in (*ADVERSARIAL_QUESTIONS, *COMMANDS):
            reply = client.post(f"/api/play/{play}/message", json={"text": message})
            assert reply.status_code == 200 and not reply.json()["done"]
            responses.append(reply)
        early = client.get(f"/api/play/{play}/result")
        assert early.status_code == 400 and "not ended" in early.json()["error"]
        responses.append(early)
        for response in responses:
            assert mentions(response.text, names) == [], (case.id, response.text[:300])
            checked += 1
        end = client.post(f"/api/play/{play}/message", json={"text": "DIAGNOSIS READY: unsure"})
        assert end.json()["done"]
        assert mentions(end.text, names)  # the answer arrives with the result, and only then
        assert end.json()["result"]["diagnosis"] == case.ground_truth.diagnosis
    assert checked == len(cases) * (3 + len(ADVERSARIAL_QUESTIONS) + len(COMMANDS) + 1)


def test_a_doctor_plays_to_a_score_and_the_transcript_is_saved_as_batch_runs_save_it(
    client, tmp_path: Path
):
    play = client.post("/api/play", json={"case_id": "cardio-001", "seed": 1}).json()
    assert play["opening"] and play["turns_left"] == 20 and play["patient"] == "58-year-old man"
    asked = client.post(f"/api/play/{play['id']}/message", json={"text": "Where is the pain?"})
    assert asked.json()["turn"]["responder"] == "patient" and asked.json()["turn"]["new_facts"]
    test = client.post(f"/api/play/{play['id']}/message", json={"text": "REQUEST TEST: troponin"})
    turn = test.json()["turn"]
    assert (turn["action"], turn["cost_usd"], turn["turnaround_hours"]) == ("order_test", 35, 1)
    assert test.json()["total_cost_usd"] == 35
    message = "DIAGNOSIS READY:\n1. STEMI\n2. Aortic dissection"
    result = client.post(f"/api/play/{play['id']}/message", json={"text": message}).json()
    assert result["done"] and result["result"]["rank"] == 1
    scores = {s["name"]: s["value"] for s in result["result"]["scores"]}
    assert scores["top1"] == 1.0
    assert result["result"]["elicited"] and result["result"]["missed"]
    assert any("matched" in line for line in result["result"]["feedback"])
    assert result["result"]["reward"] == pytest.approx(
        sum(result["result"]["reward_components"].values())
    )
    saved = read_transcripts(tmp_path / "web-play" / TRANSCRIPTS)
    assert [t.case_id for t in saved] == ["cardio-001"]
    assert saved[0].agents["doctor"] == "human" and len(saved[0].turns) == 3
    again = client.post(f"/api/play/{play['id']}/message", json={"text": "Anything else?"})
    assert again.status_code == 400 and "over" in again.json()["error"]


def test_a_person_plays_the_patient_for_a_scripted_doctor(client, tmp_path: Path):
    case = next(c for c in load_cases("starter") if c.id == "resp-001")
    names = [case.ground_truth.diagnosis, *case.ground_truth.aliases]
    state = client.post(
        "/api/play",
        json={"role": "patient", "case_id": case.id, "doctor": "systematic", "max_turns": 12},
    )
    assert state.status_code == 200
    play = state.json()
    assert play["notes"].startswith("You are a ") and play["waiting_for"] == "you"
    assert play["question"]
    responses = [state]
    while not state.json()["done"]:
        assert mentions(state.text, names) == [], state.text[:300]
        state = client.post(f"/api/play/{play['id']}/message", json={"text": "I'm not sure."})
        assert state.status_code == 200
        responses.append(state)
    assert len(responses) > 3
    final = state.json()
    assert final["result"]["diagnosis"] == case.ground_truth.diagnosis
    assert any(
        line.startswith("The systematic doctor drew out") for line in final["result"]["feedback"]
    )
    shown = [t for r in responses for t in r.json()["turns"]]
    assert [t["index"] for t in shown] == list(range(1, len(shown) + 1))  # each turn once
    saved = read_transcripts(tmp_path / "web-play" / TRANSCRIPTS)
    assert saved[0].agents == {"patient": "human", "measurement": "offline", "doctor": "systematic"}


def test_bad_requests_name_the_field_at_fault(client):
    unknown = client.post("/api/play", json={"patient": "openai/gpt-4o"})
    assert unknown.status_code == 400 and unknown.json()["error"].startswith("patient:")
    persona = client.post("/api/play", json={"persona": "grumpy"})
    assert persona.status_code == 404 and "unknown persona 'grumpy'" in persona.json()["error"]
    case = client.post("/api/play", json={"case_id": "nope-404"})
    assert case.status_code == 404 and "no case 'nope-404'" in case.json()["error"]
    extra = client.post("/api/play", json={"colour": "red"})
    assert extra.status_code == 422 and "colour" in extra.text
    play = client.post("/api/play", json={"seed": 2}).json()
    empty = client.post(f"/api/play/{play['id']}/message", json={"text": "  "})
    assert empty.status_code == 400 and empty.json()["error"].startswith("message:")
    assert client.post("/api/play/nope/message", json={"text": "hi"}).status_code == 404
    assert client.get(f"/api/play/{play['id']}/images/0").status_code == 404


def test_the_page_sends_model_labels_never_their_keys(tmp_path: Path, monkeypatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("CLINIC_ENV_TEST_KEY", secret)
    model = ModelConfig(
        model="openai/gpt-4o-mini",
        api_base="http://127.0.0.1:9/v1",
        api_key_env="CLINIC_ENV_TEST_KEY",
    )
    settings = WebSettings(
        runs=tmp_path,
        choices={
            "patient": {"offline": "offline", model.model: model},
            "measurement": {},
            "doctor": {},
        },
    )
    with TestClient(create_app(settings)) as client:
        options = client.get("/api/options")
        assert options.json()["choices"]["patient"] == ["offline", "openai/gpt-4o-mini"]
        for response in (options, client.get("/"), client.get("/static/app.js")):
            assert secret not in response.text and "127.0.0.1:9" not in response.text
            assert (
                response.headers["content-security-policy"]
                == SECURITY_HEADERS["Content-Security-Policy"]
            )


@pytest.mark.filterwarnings("ignore::clinic_env.datasets.DatasetWarning")  # the kind names it
def test_images_are_relayed_by_number_only_after_they_are_asked_for(tmp_path: Path):
    picture = tmp_path / "podagra-left-toe-GOUTY.png"  # a file name that gives the answer away
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    drawing = tmp_path / "sketch.svg"
    drawing.write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    pixel = base64.b64encode(b"GIF89a" + b"\x00" * 16).decode()
    images = [
        {"location": str(picture), "kind": "gout xray"},
        {"location": str(drawing), "kind": "drawing"},
        {"location": f"data:image/gif;base64,{pixel}", "kind": "photograph"},
    ]
    cases = tmp_path / "cases"
    cases.mkdir()
    write_yaml(cases / "test-001.yaml", {**MINIMAL_CASE, "images": images})
    settings = WebSettings(runs=tmp_path, datasets=(str(cases),))
    with TestClient(create_app(settings)) as client:
        assert str(cases) in client.get("/api/options").json()["datasets"]
        start = client.post("/api/play", json={"dataset": str(cases), "seed": 1})
        play = start.json()
        assert play["has_images"] and play["images"] == [] and play["case_id"] is None
        assert client.get(f"/api/play/{play['id']}/images/0").status_code == 404
        reply = client.post(f"/api/play/{play['id']}/message", json={"text": "REQUEST IMAGES"})
        sent = reply.json()["images"]
        assert [image["src"] for image in sent] == [
            f"/api/play/{play['id']}/images/{number}" for number in range(3)
        ]
        assert sent[0]["kind"] == "[withheld] xray"
        for response in (start, reply):
            text = response.text.lower()
            assert "gout" not in text and "podagra" not in text and str(tmp_path) not in text
        image = client.get(f"/api/play/{play['id']}/images/0")
        assert image.status_code == 200 and image.content == picture.read_bytes()
        assert image.headers["content-type"] == "image/png"
        refused = client.get(f"/api/play/{play['id']}/images/1")
        assert refused.status_code == 400 and "image/svg+xml" in refused.json()["error"]
        inline = client.get(f"/api/play/{play['id']}/images/2")
        assert inline.status_code == 200 and inline.content.startswith(b"GIF89a")


def test_only_offered_datasets_can_be_played(client, tmp_path: Path):
    refused = client.post("/api/play", json={"dataset": str(tmp_path)})
    assert refused.status_code == 400 and refused.json()["error"].startswith("dataset:")
    assert client.get("/api/cases", params={"dataset": "/etc"}).status_code == 400


def test_a_failing_model_ends_the_play_without_showing_its_address_or_key(tmp_path, monkeypatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("CLINIC_ENV_TEST_KEY", secret)
    model = ModelConfig(
        model="openai/gpt-4o-mini",
        api_base="http://127.0.0.1:9/v1",  # nothing listens there
        api_key_env="CLINIC_ENV_TEST_KEY",
        max_retries=0,
        timeout_s=5,
        transport="direct",
    )
    choices = {
        "patient": {model.model: model},
        "measurement": {"offline": "offline"},
        "doctor": {"systematic": "systematic"},
    }
    settings = WebSettings(runs=tmp_path, play_out=tmp_path / "web-play", choices=choices)
    with TestClient(create_app(settings)) as client:
        play = client.post("/api/play", json={"patient": model.model, "case_id": "cardio-001"})
        assert play.status_code == 200
        reply = client.post(f"/api/play/{play.json()['id']}/message", json={"text": "Hello?"})
        assert reply.status_code == 200 and reply.json()["done"]
        assert reply.json()["result"]["outcome"] == "error"
        assert reply.json()["turn"]["error"].startswith("ModelCallError: an agent failed")
        assert "127.0.0.1:9" not in reply.text and secret not in reply.text
    saved = read_transcripts(tmp_path / "web-play" / TRANSCRIPTS)
    assert saved[0].outcome == "error" and "127.0.0.1:9" in (saved[0].error or "")


def test_a_loopback_page_answers_only_to_loopback_names(tmp_path: Path):
    settings = WebSettings(runs=tmp_path, allowed_hosts=("127.0.0.1", "localhost"))
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        assert client.get("/api/runs").status_code == 200
    with TestClient(app, base_url="http://attacker.example") as client:
        assert client.get("/api/runs").status_code == 400


def test_a_model_patient_on_a_faulty_server_answers_through_the_page(tmp_path: Path):
    """The configured-model path end to end: the stub server fails now and then, the client
    retries, and the person playing the doctor sees the model patient's replies."""
    replies = ReplyScript(by_role={"patient": ("It started two days ago, doctor.",)})
    faults = FaultRates(error_500=0.3, rate_limit_429=0.2)
    with StubModelServer(StubConfig(faults=faults, seed=1), replies) as server:
        model = ModelConfig(
            model="openai/stub", api_base=server.base_url, backoff_s=0.01, backoff_max_s=0.05
        )
        choices = {
            "patient": {"offline": "offline", model.model: model},
            "measurement": {"offline": "offline"},
            "doctor": {"systematic": "systematic"},
        }
        settings = WebSettings(runs=tmp_path, play_out=tmp_path / "web-play", choices=choices)
        with TestClient(create_app(settings)) as client:
            play = client.post("/api/play", json={"patient": model.model, "case_id": "resp-001"})
            for question in ("When did it start?", "Anything else?", "Any cough?"):
                reply = client.post(
                    f"/api/play/{play.json()['id']}/message", json={"text": question}
                )
                turn = reply.json()["turn"]
                assert turn["error"] is None, turn
                assert "It started two days ago, doctor." in turn["observation"]
        outcomes = server.stats.outcomes
        assert outcomes["ok"] >= 3 and sum(n for k, n in outcomes.items() if k != "ok") > 0
