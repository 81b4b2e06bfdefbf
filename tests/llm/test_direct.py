"""The aiohttp transport against real servers: the stub, and small aiohttp apps for headers."""

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from clinic_env.llm import ModelCallError, ModelClient, ModelConfig
from clinic_env.llm.direct import DirectTransport
from clinic_env.llm.errors import FatalCallError, RetryableCallError
from clinic_env.testing.stub_server import FaultRates, ReplyScript, StubConfig, StubModelServer

MESSAGES = [{"role": "user", "content": "Any fever?"}]
KEY = "sk-live-0123456789abcdefABCDEF"


def request(api_base: str, **changes) -> dict:
    return {
        "model": "openai/stub",
        "api_base": api_base,
        "messages": MESSAGES,
        "temperature": 0.0,
        "max_tokens": 16,
        "seed": 1,
        "role": "patient",
        **changes,
    }


def send(api_base: str, api_key: str | None = None, **changes) -> dict:
    async def once():
        return await DirectTransport()(request(api_base, **changes), api_key, 5.0)

    return asyncio.run(once())


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


async def with_app(handler: Handler, body: Callable[[str], Awaitable[object]]) -> object:
    """Serve ``handler`` on loopback in this loop while ``body(base_url)`` runs."""
    runner = web.ServerRunner(web.Server(handler), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        return await body(f"http://127.0.0.1:{port}/v1")
    finally:
        await runner.cleanup()


def completion(content: str) -> web.Response:
    message = {"role": "assistant", "content": content}
    return web.json_response({"choices": [{"message": message}], "usage": {}})


def test_a_reply_is_normalised_with_usage():
    with StubModelServer(replies=ReplyScript(by_role={"patient": ("Two days.",)})) as server:
        reply = send(server.base_url, KEY)
        assert server.stats.by_role == {"patient": 1}
    assert reply["text"] == "Two days."
    assert reply["tool_calls"] == []
    assert reply["usage"]["prompt_tokens"] > 0 and reply["usage"]["completion_tokens"] > 0


def test_tool_calls_come_back():
    def responder(role, body):
        return {"tool_calls": [{"name": "order_test", "arguments": {"test": "CBC"}}]}

    with StubModelServer(replies=ReplyScript(responder=responder)) as server:
        reply = send(server.base_url)
    (call,) = reply["tool_calls"]
    assert call["name"] == "order_test" and json.loads(call["arguments"]) == {"test": "CBC"}


def test_lone_surrogates_in_a_reply_are_made_valid_text():
    def responder(role, body):
        return {
            "content": "fine \ud800 thanks",
            "tool_calls": [{"name": "x\udfff", "arguments": {}}],
        }

    with StubModelServer(replies=ReplyScript(responder=responder)) as server:
        reply = send(server.base_url)
    assert reply["text"] == "fine \ufffd thanks"
    assert reply["tool_calls"][0]["name"] == "x\ufffd"
    reply["text"].encode("utf-8")


def test_a_429_is_retryable_and_carries_its_retry_after():
    config = StubConfig(faults=FaultRates(rate_limit_429=1), retry_after_s=2)
    with StubModelServer(config) as server, pytest.raises(RetryableCallError) as error:
        send(server.base_url)
    assert "HTTP 429" in str(error.value)
    assert error.value.retry_after == 2


@pytest.mark.parametrize("fault", ["error_500", "malformed"])
def test_server_errors_and_broken_bodies_are_retryable(fault):
    stub = StubModelServer(StubConfig(faults=FaultRates(**{fault: 1})))
    with stub as server, pytest.raises(RetryableCallError):
        send(server.base_url)


def test_a_bad_request_is_fatal():
    with StubModelServer() as server, pytest.raises(FatalCallError, match="HTTP 400"):
        send(server.base_url, messages=[])


def test_a_refused_key_is_fatal_and_the_echoed_key_is_masked_before_the_cut():
    async def refuse(request: web.BaseRequest) -> web.StreamResponse:
        key = request.headers["Authorization"].removeprefix("Bearer ")
        # The key starts at character 190 of the body: a cut at 200 would keep a prefix.
        return web.json_response({"error": {"message": "x" * 160 + f" bad key {key}"}}, status=401)

    async def body(base_url):
        with pytest.raises(FatalCallError) as error:
            await DirectTransport()(request(base_url), KEY, 5.0)
        return str(error.value)

    text = asyncio.run(with_app(refuse, body))
    assert "HTTP 401" in text and "refused the credentials" in text
    assert KEY[:6] not in text and "[key]" in text


def test_credentials_in_the_url_become_basic_auth_and_appear_nowhere():
    seen = []

    async def record(request: web.BaseRequest) -> web.StreamResponse:
        seen.append(request.headers.get("Authorization"))
        return web.Response(status=503, text=f"unavailable; asked for {request.url}")

    async def body(base_url):
        with_credentials = base_url.replace("http://", "http://ann:s%40cret@")
        transport = DirectTransport()
        with pytest.raises(RetryableCallError) as error:
            await transport(request(with_credentials), "sk-no-key-needed", 5.0)
        with pytest.raises(FatalCallError, match="give one of them"):
            await transport(request(with_credentials), KEY, 5.0)
        return str(error.value)

    text = asyncio.run(with_app(record, body))
    assert seen == ["Basic " + base64.b64encode(b"ann:s@cret").decode()]
    assert "s%40cret" not in text and "s@cret" not in text and "ann" not in text


def test_a_reply_that_does_not_come_in_time_is_retryable():
    config = StubConfig(faults=FaultRates(hang=1))
    with StubModelServer(config) as server, pytest.raises(RetryableCallError, match="no reply"):
        asyncio.run(DirectTransport()(request(server.base_url), None, 0.2))


def test_each_role_and_key_sends_its_own_headers():
    seen = []

    async def record(request: web.BaseRequest) -> web.StreamResponse:
        seen.append((request.headers["X-Clinic-Env-Role"], request.headers.get("Authorization")))
        return completion("ok")

    async def body(base_url):
        transport = DirectTransport()
        for role, key in [
            ("patient", KEY),
            ("doctor", KEY),
            ("patient", "sk-other"),
            ("judge", None),
        ]:
            await transport(request(base_url, role=role), key, 5.0)
        await transport.aclose()

    asyncio.run(with_app(record, body))
    assert seen == [
        ("patient", f"Bearer {KEY}"),
        ("doctor", f"Bearer {KEY}"),
        ("patient", "Bearer sk-other"),
        ("judge", None),
    ]


def test_a_server_that_is_not_listening_is_retryable():
    with StubModelServer() as server:
        base_url = server.base_url
    with pytest.raises(RetryableCallError, match="cannot connect"):
        send(base_url)


@pytest.mark.parametrize(
    "api_base", ["ftp://127.0.0.1/v1", "http:///v1", "http://127.0.0.1:99999/v1", ""]
)
def test_a_url_that_cannot_work_is_fatal(api_base):
    with pytest.raises(FatalCallError, match="http"):
        send(api_base)


def test_a_connection_closed_while_kept_alive_is_tried_once_more():
    answers = 0

    async def close_after_each(request: web.BaseRequest) -> web.StreamResponse:
        nonlocal answers
        answers += 1
        response = completion(f"answer {answers}")
        response.force_close()
        return response

    async def body(base_url):
        transport = DirectTransport()
        return [(await transport(request(base_url), None, 5.0))["text"] for _ in range(3)]

    assert asyncio.run(with_app(close_after_each, body)) == ["answer 1", "answer 2", "answer 3"]


@pytest.mark.parametrize("key", [KEY, "k3y!"])
def test_a_client_error_holds_no_part_of_a_key_the_server_echoed(monkeypatch, key):
    monkeypatch.setenv("CLINIC_TEST_KEY", key)

    async def echo(request: web.BaseRequest) -> web.StreamResponse:
        sent = request.headers["Authorization"].removeprefix("Bearer ")
        return web.Response(status=500, text="y" * 190 + sent + " was used")

    async def body(base_url):
        config = ModelConfig(
            model="openai/stub", api_base=base_url, api_key_env="CLINIC_TEST_KEY", max_retries=0
        )
        async with ModelClient() as client:
            with pytest.raises(ModelCallError) as error:
                await client.complete(config, MESSAGES, role="doctor")
        return str(error.value)

    text = asyncio.run(with_app(echo, body))
    assert "HTTP 500" in text and "[key]" in text
    assert key[:4] not in text.replace("[key]", "")
