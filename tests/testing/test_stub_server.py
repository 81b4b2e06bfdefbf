import asyncio
import gc
import http.client
import json
import logging
import socket
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from clinic_env.testing.stub_server import (
    FaultRates,
    ReplyScript,
    StubConfig,
    StubModelServer,
    start_in_subprocess,
)

SECRET = "sk-test-do-not-leak-7f3a"
MESSAGES = [{"role": "user", "content": "What brings you in today?"}]


def _connect(base_url: str, timeout: float = 5) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def _request(conn, method="POST", path="/v1/chat/completions", body=None, role=None):
    if body is None and method == "POST":
        body = {"model": "stub", "messages": MESSAGES}
    if isinstance(body, dict):
        body = json.dumps(body)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    if role:
        headers["X-Clinic-Env-Role"] = role
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response, response.read()


def _post(base_url: str, role: str | None = None, body=None, timeout: float = 5):
    conn = _connect(base_url, timeout)
    try:
        return _request(conn, role=role, body=body)
    finally:
        conn.close()


def _content(raw: bytes) -> str:
    return json.loads(raw)["choices"][0]["message"]["content"]


def test_a_completion_follows_the_openai_schema():
    with StubModelServer(StubConfig(model_name="stub-7b")) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/v1")
        status, response, raw = _post(server.base_url, role="patient")
    assert status == 200
    assert response.getheader("Content-Type") == "application/json"
    data = json.loads(raw)
    assert data["object"] == "chat.completion"
    assert data["model"] == "stub-7b"
    assert data["id"] and isinstance(data["created"], int)
    choice = data["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_replies_rotate_per_role_and_fall_back_to_the_default():
    script = ReplyScript(by_role={"doctor": ("first", "second"), "judge": ("Yes",)}, default="?")
    with StubModelServer(replies=script) as server:
        conn = _connect(server.base_url)
        got = [
            _content(_request(conn, role=role)[2])
            for role in ("doctor", "judge", "doctor", "doctor", "patient", None)
        ]
        conn.close()
        stats = server.stats
    assert got == ["first", "Yes", "second", "first", "?", "?"]
    assert stats.by_role == {"doctor": 3, "judge": 1, "patient": 1, "(none)": 1}
    assert stats.outcomes == {"ok": 6} and stats.requests == 6


def test_default_replies_let_a_consultation_progress():
    with StubModelServer() as server:
        conn = _connect(server.base_url)
        doctor = [_content(_request(conn, role="doctor")[2]) for _ in range(4)]
        others = {
            role: _content(_request(conn, role=role)[2])
            for role in ("patient", "measurement", "judge")
        }
        conn.close()
    assert doctor[-1].startswith("DIAGNOSIS READY:")
    assert all(not line.startswith("DIAGNOSIS") for line in doctor[:-1])
    assert others["measurement"] == "normal" and others["judge"] == "Yes"
    assert others["patient"]


def test_a_responder_can_return_tool_calls_and_sees_role_and_body():
    seen = []

    def responder(role, request):
        seen.append((role, request["messages"][-1]["content"]))
        return {"tool_calls": [{"name": "order_test", "arguments": {"test": "CBC"}}]}

    with StubModelServer(replies=ReplyScript(responder=responder)) as server:
        status, _, raw = _post(server.base_url, role="doctor")
    assert status == 200
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"]
    assert call["function"]["name"] == "order_test"
    assert json.loads(call["function"]["arguments"]) == {"test": "CBC"}
    assert seen == [("doctor", "What brings you in today?")]


def test_a_failing_responder_is_a_visible_500():
    def responder(role, request):
        raise RuntimeError("bug in the test's responder")

    with StubModelServer(replies=ReplyScript(responder=responder)) as server:
        status, _, raw = _post(server.base_url)
    assert status == 500
    assert "bug in the test's responder" in json.loads(raw)["error"]["message"]


def test_injected_500():
    with StubModelServer(StubConfig(faults=FaultRates(error_500=1))) as server:
        status, _, raw = _post(server.base_url, role="doctor")
        assert server.stats.outcomes == {"500": 1}
    assert status == 500
    assert json.loads(raw)["error"] == {
        "message": "injected server error",
        "type": "server_error",
        "param": None,
        "code": None,
    }


def test_injected_429_carries_retry_after():
    config = StubConfig(latency_s=5, faults=FaultRates(rate_limit_429=1), retry_after_s=0.25)
    with StubModelServer(config) as server:
        started = time.perf_counter()
        status, response, raw = _post(server.base_url)
        elapsed = time.perf_counter() - started
    assert status == 429
    assert response.getheader("Retry-After") == "1"
    assert response.getheader("retry-after-ms") == "250"
    assert json.loads(raw)["error"]["type"] == "rate_limit_error"
    assert elapsed < 1, "a 429 is answered before queueing, without the service time"


def test_malformed_bodies_alternate_between_no_choices_and_broken_json():
    with StubModelServer(StubConfig(faults=FaultRates(malformed=1))) as server:
        conn = _connect(server.base_url)
        first = _request(conn, role="patient")
        second = _request(conn, role="patient")
        conn.close()
    assert first[0] == second[0] == 200
    assert "choices" not in json.loads(first[2])
    with pytest.raises(json.JSONDecodeError):
        json.loads(second[2])


def test_a_hang_is_seen_as_a_client_timeout_and_ends_on_disconnect():
    with StubModelServer(StubConfig(faults=FaultRates(hang=1))) as server:
        with pytest.raises(TimeoutError):
            _post(server.base_url, role="judge", timeout=0.3)
        _wait_for(lambda: server.stats.disconnects == 1)
        stats = server.stats
    assert stats.outcomes == {"hang": 1}
    assert stats.disconnects == 1


def test_stopping_the_server_ends_a_hang():
    server = StubModelServer(StubConfig(faults=FaultRates(hang=1))).start()
    conn = _connect(server.base_url, timeout=5)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({"messages": MESSAGES}))
    time.sleep(0.1)
    started = time.perf_counter()
    server.stop()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    assert time.perf_counter() - started < 2


def test_faults_are_reproducible_per_role_whatever_the_interleaving():
    faults = FaultRates(error_500=0.2, rate_limit_429=0.2, malformed=0.2)

    def outcomes(roles):
        seen = {"doctor": [], "patient": []}
        with StubModelServer(StubConfig(faults=faults, seed=7)) as server:
            conn = _connect(server.base_url)
            for role in roles:
                status, _, raw = _request(conn, role=role)
                try:
                    reply = _content(raw) if status == 200 else ""
                except (ValueError, KeyError):
                    reply = "malformed"
                seen[role].append((status, reply))
            conn.close()
        return seen

    interleaved = outcomes(["doctor", "patient"] * 20)
    grouped = outcomes(["patient"] * 20 + ["doctor"] * 20)
    assert interleaved == grouped
    assert {status for status, _ in interleaved["doctor"]} == {200, 429, 500}
    assert "malformed" in {reply for _, reply in interleaved["doctor"]}


def test_fault_rates_cannot_add_up_to_more_than_one():
    with pytest.raises(ValidationError):
        FaultRates(error_500=0.6, hang=0.5)


def test_the_slot_limit_holds_and_extra_requests_queue():
    with StubModelServer(StubConfig(slots=2, latency_s=0.2)) as server:
        started = time.perf_counter()
        with ThreadPoolExecutor(6) as pool:
            statuses = [r[0] for r in pool.map(lambda _: _post(server.base_url), range(6))]
        elapsed = time.perf_counter() - started
        stats = server.stats
    assert statuses == [200] * 6
    assert 0.55 < elapsed < 2
    assert stats.max_in_service == 2
    assert stats.max_queued == 4
    assert stats.in_service == stats.queued == 0


def _wait_for(predicate, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the server did not get there in time"
        time.sleep(0.005)


def test_queued_requests_are_served_first_come_first_served():
    finished = []

    def call(i):
        _post(server.base_url)
        finished.append(i)

    with StubModelServer(StubConfig(slots=1, latency_s=0.1)) as server:
        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for i, thread in enumerate(threads):
            thread.start()
            _wait_for(lambda i=i: server.stats.requests == i + 1)  # arrivals in a known order
        for thread in threads:
            thread.join()
    assert finished == [0, 1, 2, 3]


def test_a_client_that_disconnects_frees_its_slot():
    with StubModelServer(StubConfig(slots=1, latency_s=30)) as server:
        parts = urlsplit(server.base_url)
        body = json.dumps({"messages": MESSAGES}).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(head.encode() + b"\r\n\r\n" + body)
            _wait_for(lambda: server.stats.in_service == 1)
        _wait_for(lambda: server.stats.in_service == 0)
        assert server.stats.disconnects == 1


def test_keep_alive_serves_many_requests_on_one_connection():
    with StubModelServer() as server:
        conn = _connect(server.base_url)
        conn.connect()
        sock = conn.sock
        for _ in range(5):
            status, response, _ = _request(conn, role="patient")
            assert status == 200
            assert response.getheader("Connection") == "keep-alive"
        assert conn.sock is sock
        conn.close()


def test_connection_close_is_honoured():
    with StubModelServer() as server:
        parts = urlsplit(server.base_url)
        body = json.dumps({"messages": MESSAGES}).encode()
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            sock.sendall(head.encode() + body)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in received


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "invalid request"),
        ("[1, 2]", "JSON object"),
        ({"model": "stub"}, "messages"),
        ({"messages": []}, "messages"),
    ],
)
def test_a_bad_body_is_a_400_with_a_json_error(body, reason):
    with StubModelServer() as server:
        status, _, raw = _post(server.base_url, body=body)
        assert server.stats.outcomes == {"400": 1}
    assert status == 400
    assert reason in json.loads(raw)["error"]["message"]


def test_other_routes():
    with StubModelServer(StubConfig(model_name="stub-7b")) as server:
        conn = _connect(server.base_url)
        assert _request(conn, "GET", "/health")[0] == 200
        models = json.loads(_request(conn, "GET", "/v1/models")[2])
        assert [model["id"] for model in models["data"]] == ["stub-7b"]
        assert _request(conn, "GET", "/v1/chat/completions")[0] == 405
        assert _request(conn, "POST", "/v2/nothing", body="{}")[0] == 404
        conn.close()


def test_streaming_is_answered_with_one_sse_chunk():
    body = {"messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    with StubModelServer(replies=ReplyScript(default="streamed")) as server:
        status, response, raw = _post(server.base_url, body=body)
    assert status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    events = [line[6:] for line in raw.decode().split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["content"] == "streamed"
    assert chunks[1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[2]["usage"]["total_tokens"] > 0


def test_the_authorization_header_never_reaches_logs_or_stats(caplog, capfd):
    def responder(role, request):
        raise ValueError("boom")

    caplog.set_level(logging.DEBUG)
    with StubModelServer(replies=ReplyScript(responder=responder)) as server:
        _post(server.base_url, role="doctor")
        _post(server.base_url, body="{broken")
        stats = server.stats.model_dump_json()
    captured = capfd.readouterr()
    for text in (caplog.text, stats, captured.out, captured.err):
        assert SECRET not in text


def test_many_concurrent_requests_through_httpx_from_inside_an_event_loop():
    httpx = pytest.importorskip("httpx")
    headers = {"X-Clinic-Env-Role": "patient"}

    async def run():
        with StubModelServer(StubConfig(slots=8, latency_s=0.05)) as server:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as client:
                body = {"messages": MESSAGES}
                calls = [
                    client.post("/chat/completions", json=body, headers=headers) for _ in range(50)
                ]
                responses = await asyncio.gather(*calls)
            return responses, server.stats

    responses, stats = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 50
    assert stats.max_in_service == 8
    assert stats.by_role == {"patient": 50}


def test_the_subprocess_server_prints_its_url_and_serves():
    config = StubConfig(latency_s=0.01, slots=4, seed=3, model_name="child")
    with start_in_subprocess(config, ReplyScript(by_role={"judge": ("No",)})) as child:
        assert child.base_url.startswith("http://127.0.0.1:")
        status, _, raw = _post(child.base_url, role="judge")
        assert status == 200
        assert _content(raw) == "No"
        assert json.loads(raw)["model"] == "child"
        assert child.stats.by_role == {"judge": 1}
    assert child.process.returncode == 0


def test_a_responder_cannot_go_to_a_subprocess():
    with pytest.raises(ValueError, match="responder"):
        start_in_subprocess(replies=ReplyScript(responder=lambda role, request: "x"))


def test_connections_are_counted_while_open():
    with StubModelServer() as server:
        conn = _connect(server.base_url)
        _request(conn, role="patient")
        assert server.stats.connections == 1
        conn.close()
        _wait_for(lambda: server.stats.connections == 0)


def test_a_half_closed_request_is_aborted_and_frees_its_slot():
    with StubModelServer(StubConfig(slots=1, latency_s=30)) as server:
        parts = urlsplit(server.base_url)
        body = json.dumps({"messages": MESSAGES}).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(head.encode() + b"\r\n\r\n" + body)
            _wait_for(lambda: server.stats.in_service == 1)
            sock.shutdown(socket.SHUT_WR)
            _wait_for(lambda: server.stats.in_service == 0)
        assert server.stats.disconnects == 1


def test_stopping_right_after_a_connection_leaves_no_unclosed_socket(monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # in __del__: an unraisable error
        for _ in range(10):
            with StubModelServer() as server:
                parts = urlsplit(server.base_url)
                socket.create_connection((parts.hostname, parts.port)).close()
        gc.collect()
    assert [str(u.exc_value) for u in unraisable] == []
