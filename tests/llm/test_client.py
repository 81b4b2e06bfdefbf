import asyncio
from pathlib import Path

import pytest

from clinic_env.errors import ConfigError
from clinic_env.llm import (
    CacheMode,
    ModelCallError,
    ModelClient,
    ModelConfig,
    ReplayMissError,
    ReplyCache,
)
from clinic_env.llm.errors import FatalCallError, RetryableCallError
from clinic_env.testing.scripted import ScriptedTransport, tool_call

FAST = {"backoff_s": 0.0, "backoff_max_s": 0.0}
MESSAGES = [{"role": "user", "content": "Any fever?"}]


def config(**changes) -> ModelConfig:
    fields = {"api_base": "http://127.0.0.1:9/v1", **FAST, **changes}
    return ModelConfig(model="openai/test-model", **fields)


def complete(client: ModelClient, cfg: ModelConfig, **kwargs):
    return asyncio.run(client.complete(cfg, MESSAGES, role="patient", **kwargs))


def test_retries_transient_failures_then_succeeds():
    transport = ScriptedTransport(
        {"patient": [RetryableCallError("503"), RetryableCallError("429"), "Yes, a little."]}
    )
    result = complete(ModelClient(transport=transport), config(max_retries=2))
    assert result.text == "Yes, a little."
    assert result.attempts == 3 and not result.cached


def test_gives_up_with_a_clear_error_after_the_last_retry():
    transport = ScriptedTransport({"patient": [RetryableCallError("HTTP 500 from server")]})
    with pytest.raises(
        ModelCallError, match=r"patient model openai/test-model at .*attempt 3 failed: HTTP 500"
    ):
        complete(ModelClient(transport=transport), config(max_retries=2))
    assert len(transport.requests) == 3


def test_fatal_errors_are_not_retried():
    transport = ScriptedTransport({"patient": [FatalCallError("BadRequestError: no such model")]})
    with pytest.raises(ModelCallError, match="attempt 1 failed: BadRequestError"):
        complete(ModelClient(transport=transport), config(max_retries=5))
    assert len(transport.requests) == 1


def test_malformed_and_hanging_replies_are_retried():
    transport = ScriptedTransport({"patient": [{"text": ""}, "ok"]})
    assert complete(ModelClient(transport=transport), config()).attempts == 2

    class Hanging(ScriptedTransport):
        async def __call__(self, request, api_key, timeout):
            if not self.requests:
                self.requests.append(request)
                await asyncio.sleep(10)
            return await super().__call__(request, api_key, timeout)

    hanging = Hanging({"patient": ["answered"]})
    result = complete(ModelClient(transport=hanging), config(timeout_s=0.05))
    assert result.text == "answered" and result.attempts == 2


def test_concurrency_is_limited_per_endpoint():
    in_flight = 0
    peak = 0

    class Counting(ScriptedTransport):
        async def __call__(self, request, api_key, timeout):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return await super().__call__(request, api_key, timeout)

    client = ModelClient(transport=Counting({}))
    cfg = config(concurrency=3)

    async def many():
        await asyncio.gather(
            *(client.complete(cfg, MESSAGES, role="patient", seed=i) for i in range(20))
        )

    asyncio.run(many())
    assert peak == 3


def test_cache_read_write_then_replay_without_a_server(tmp_path: Path):
    path = tmp_path / "calls.sqlite"
    transport = ScriptedTransport({"patient": ["first answer", "second answer"]})
    client = ModelClient(ReplyCache(path, CacheMode.READ_WRITE), transport=transport)
    first = complete(client, config(), seed=1)
    again = complete(client, config(), seed=1)
    assert first.text == again.text == "first answer"
    assert again.cached and len(transport.requests) == 1
    other_seed = complete(client, config(), seed=2)
    assert other_seed.text == "second answer"

    replay = ModelClient(
        ReplyCache(path, CacheMode.REPLAY),
        transport=ScriptedTransport({}, default=RuntimeError("no server")),
    )
    assert complete(replay, config(), seed=1).text == "first answer"
    with pytest.raises(ReplayMissError, match="no recorded reply"):
        complete(replay, config(), seed=3)
    with pytest.raises(ReplayMissError, match="no recorded cache"):
        ReplyCache(tmp_path / "absent.sqlite", CacheMode.REPLAY)


def test_api_key_comes_from_the_environment_and_is_never_stored(tmp_path: Path, monkeypatch):
    secret = "sk-test-DO-NOT-LEAK-0123456789abcdef"
    monkeypatch.setenv("CLINIC_TEST_KEY", secret)
    seen = []

    class KeyEcho(ScriptedTransport):
        async def __call__(self, request, api_key, timeout):
            seen.append(api_key)
            raise FatalCallError(f"AuthenticationError: bad key {api_key}")

    path = tmp_path / "calls.sqlite"
    client = ModelClient(ReplyCache(path), transport=KeyEcho({}))
    with pytest.raises(ModelCallError) as error:
        complete(client, config(api_key_env="CLINIC_TEST_KEY"))
    assert seen == [secret]
    assert secret not in str(error.value) and "[key]" in str(error.value)
    ok = ModelClient(ReplyCache(path), transport=ScriptedTransport({"patient": ["fine"]}))
    complete(ok, config(api_key_env="CLINIC_TEST_KEY"))
    assert secret.encode() not in path.read_bytes()
    monkeypatch.delenv("CLINIC_TEST_KEY")
    with pytest.raises(ConfigError, match="CLINIC_TEST_KEY is not set"):
        complete(ok, config(api_key_env="CLINIC_TEST_KEY"), seed=99)


def test_tool_calls_come_back_parsed():
    transport = ScriptedTransport({"doctor": [tool_call("order_test", test="CBC")]})
    result = asyncio.run(
        ModelClient(transport=transport).complete(config(), MESSAGES, role="doctor")
    )
    assert result.tool_calls[0].name == "order_test"
    assert '"CBC"' in result.tool_calls[0].arguments


def test_identical_requests_in_flight_share_one_call_when_caching(tmp_path: Path):
    transport = ScriptedTransport({"patient": ["one", "two", "three"]}, delay_s=0.02)
    client = ModelClient(ReplyCache(tmp_path / "c.sqlite"), transport=transport)

    async def together():
        return await asyncio.gather(
            *(client.complete(config(), MESSAGES, role="patient", seed=7) for _ in range(5))
        )

    results = asyncio.run(together())
    assert {r.text for r in results} == {"one"}
    assert len(transport.requests) == 1
    assert sum(not r.cached for r in results) == 1


def test_a_missing_key_is_never_retried(monkeypatch):
    monkeypatch.delenv("CLINIC_TEST_KEY", raising=False)
    transport = ScriptedTransport({"patient": ["never sent"]})
    with pytest.raises(ConfigError, match="CLINIC_TEST_KEY is not set"):
        complete(ModelClient(transport=transport), config(api_key_env="CLINIC_TEST_KEY"))
    assert transport.requests == []


def test_a_hosted_model_without_its_key_fails_at_the_first_attempt(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    hosted = ModelConfig(model="openai/gpt-4o-mini", max_retries=4, backoff_s=5)
    with pytest.raises(ModelCallError, match="attempt 1 failed: no API key: set OPENAI_API_KEY"):
        complete(ModelClient(), hosted)


def test_a_refused_key_is_not_retried():
    transport = ScriptedTransport({"patient": [FatalCallError("HTTP 401: refused")]})
    with pytest.raises(ModelCallError, match="attempt 1 failed: HTTP 401"):
        complete(ModelClient(transport=transport), config(max_retries=4))
    assert len(transport.requests) == 1


def test_a_server_asking_to_wait_is_waited_for(monkeypatch):
    waits = []
    real_sleep = asyncio.sleep

    async def recorded(delay, *args):
        waits.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    busy = RetryableCallError("HTTP 429", retry_after=7.0)
    transport = ScriptedTransport({"patient": [busy, busy, "done"]})
    result = complete(ModelClient(transport=transport), config(backoff_max_s=5.0))
    assert result.text == "done"
    assert waits == [5.0, 5.0], "the wait asked for, capped by backoff_max_s"


def test_url_credentials_reach_the_transport_only(tmp_path: Path):
    secret_base = "http://ann:s3cret@127.0.0.1:9/v1"
    transport = ScriptedTransport({"patient": ["fine", FatalCallError("bad request")]})
    client = ModelClient(ReplyCache(tmp_path / "c.sqlite"), transport=transport)
    complete(client, config(api_base=secret_base), seed=1)
    with pytest.raises(ModelCallError) as error:
        complete(client, config(api_base=secret_base), seed=2)
    assert transport.requests[0]["api_base"] == secret_base, "the transport authenticates"
    assert "at http://127.0.0.1:9/v1" in str(error.value) and "s3cret" not in str(error.value)
    assert all(b"s3cret" not in file.read_bytes() for file in tmp_path.iterdir())
    plain = ModelClient(ReplyCache(tmp_path / "c.sqlite"), transport=ScriptedTransport({}))
    assert complete(plain, config(), seed=1).cached, "the same key as without credentials"
