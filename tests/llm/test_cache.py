import multiprocessing
from pathlib import Path

from clinic_env.llm.cache import CacheMode, ReplyCache, request_key


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
