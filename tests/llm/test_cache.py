import asyncio
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from clinic_env.errors import RunError, UserError
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.llm.cache import CacheMode, ReplyCache, request_key
from clinic_env.llm.errors import UnusableRecordError
from clinic_env.testing.scripted import ScriptedTransport

CONFIG = ModelConfig(model="openai/m", api_base="http://127.0.0.1:9/v1", max_retries=0)
MESSAGES = [{"role": "user", "content": "Any fever?"}]


def _writer(path: str, worker: int, rows: int) -> None:
    cache = ReplyCache(path, CacheMode.READ_WRITE)
    for i in range(rows):
        # Half the keys are shared by every worker: the first answer must win, once.
        key = request_key({"i": i}) if i % 2 else request_key({"worker": worker, "i": i})
        cache.put(key, {"i": i}, {"text": f"worker {worker}"})
    cache.close()


def test_many_processes_write_safely(tmp_path: Path):
    path = tmp_path / "shared.sqlite"
    ReplyCache(path).close()
    workers = [multiprocessing.Process(target=_writer, args=(str(path), w, 200)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    cache = ReplyCache(path, CacheMode.READ_WRITE)
    assert len(cache) == 4 * 100 + 100
    assert cache.get(request_key({"i": 1}))["text"].startswith("worker ")


def test_keys_are_stable_and_order_free():
    assert request_key({"a": 1, "b": [1, 2]}) == request_key({"b": [1, 2], "a": 1})
    assert request_key({"a": 1}) != request_key({"a": 2})


def test_off_mode_stores_nothing(tmp_path: Path):
    cache = ReplyCache(tmp_path / "off.sqlite", CacheMode.OFF)
    cache.put("k", {}, {"text": "x"})
    assert cache.get("k") is None
    assert not (tmp_path / "off.sqlite").exists()


def _poison(path: Path, key: str, raw: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO replies (key, request, reply) VALUES (?, '{}', ?)", (key, raw)
        )


@pytest.mark.parametrize(
    "raw", ["{not json", "[1, 2]", '{"text": 7}', '{"text": ""}', '{"tool_calls": [{}]}']
)
def test_an_unusable_recorded_reply_is_a_miss_and_the_new_answer_replaces_it(tmp_path, raw):
    path = tmp_path / "calls.sqlite"
    client = ModelClient(ReplyCache(path), transport=ScriptedTransport({"doctor": ["fresh"]}))
    key = asyncio.run(client.complete(CONFIG, MESSAGES, role="doctor")).key
    _poison(path, key, raw)
    again = ModelClient(ReplyCache(path), transport=ScriptedTransport({"doctor": ["asked again"]}))
    first = asyncio.run(again.complete(CONFIG, MESSAGES, role="doctor"))
    assert (first.text, first.cached) == ("asked again", False)
    assert ReplyCache(path, CacheMode.REPLAY).get(key)["text"] == "asked again"


def test_replay_fails_only_the_call_whose_record_is_unusable(tmp_path):
    path = tmp_path / "calls.sqlite"
    client = ModelClient(ReplyCache(path), transport=ScriptedTransport({"doctor": ["fresh"]}))
    key = asyncio.run(client.complete(CONFIG, MESSAGES, role="doctor")).key
    _poison(path, key, "{not json")
    replay = ModelClient(ReplyCache(path, CacheMode.REPLAY), transport=ScriptedTransport({}))
    with pytest.raises(UnusableRecordError, match="cannot be used") as error:
        asyncio.run(replay.complete(CONFIG, MESSAGES, role="doctor"))
    assert isinstance(error.value, RunError) and not isinstance(error.value, UserError)


def test_a_recorded_lone_surrogate_is_repaired_on_read(tmp_path):
    path = tmp_path / "calls.sqlite"
    client = ModelClient(ReplyCache(path), transport=ScriptedTransport({"doctor": ["fresh"]}))
    key = asyncio.run(client.complete(CONFIG, MESSAGES, role="doctor")).key
    _poison(path, key, json.dumps({"text": "odd \ud800 reply"}))
    replay = ModelClient(ReplyCache(path, CacheMode.REPLAY), transport=ScriptedTransport({}))
    reply = asyncio.run(replay.complete(CONFIG, MESSAGES, role="doctor"))
    assert reply.text == "odd \ufffd reply" and reply.cached


def test_a_message_with_a_lone_surrogate_is_keyed_and_stored(tmp_path):
    path = tmp_path / "calls.sqlite"
    client = ModelClient(ReplyCache(path), transport=ScriptedTransport({"doctor": ["fine"]}))
    messages = [{"role": "user", "content": "broken \udc80 text"}]
    first = asyncio.run(client.complete(CONFIG, messages, role="doctor"))
    again = asyncio.run(client.complete(CONFIG, messages, role="doctor"))
    assert again.cached and again.key == first.key
