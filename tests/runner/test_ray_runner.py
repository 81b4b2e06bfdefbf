"""The Ray runner on a local Ray instance: the same records as the asyncio runner, one store,
workers pulling from one queue."""

import argparse
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from clinic_env.cli import eval as eval_command
from clinic_env.errors import ConfigError, RunError
from clinic_env.llm.cache import CacheMode, ReplyCache
from clinic_env.llm.client import ModelClient
from clinic_env.llm.config import ModelConfig
from clinic_env.runner import ray_runner
from clinic_env.runner.experiment import Experiment, RayOptions, Roles
from clinic_env.runner.ray_runner import ClientSettings, JobQueue, RayRunner
from clinic_env.runner.runner import run_experiment, run_in_process
from clinic_env.runner.store import RESULTS, read_records
from clinic_env.testing.scripted import ScriptedTransport
from clinic_env.testing.stub_server import StubConfig, start_in_subprocess

ray = pytest.importorskip("ray")

GRID = Experiment.model_validate(
    {
        "name": "ray-parity",
        "datasets": [{"name": "starter", "cases": {"limit": 8}}],
        "personas": ["plain", "anxious"],
        "seeds": [0, 1],
        "concurrency": 4,
    }
)


def transcripts_by_cell(folder: Path) -> dict[str, str]:
    records = read_records(folder / RESULTS)
    counts = Counter(r.cell.id for r in records)
    assert max(counts.values()) == 1, "a cell has more than one record"
    return {r.cell.id: r.transcript.model_dump_json() for r in records}


def test_ray_gives_the_asyncio_runners_records_in_one_store(local_ray: None, tmp_path: Path):
    alone = run_experiment(GRID, tmp_path / "asyncio", progress=False)
    assert (alone.ran, alone.failed) == (32, 0)
    expected = transcripts_by_cell(tmp_path / "asyncio")
    assert sorted(expected) == sorted(job.id for job in GRID.jobs())
    # Ray resumes the run as if stopped after 5 cells: parity and resume in one Ray run,
    # since each run starts its worker processes anew (seconds on two cores).
    (tmp_path / "ray").mkdir()
    (tmp_path / "asyncio" / "manifest.json").replace(tmp_path / "ray" / "manifest.json")
    kept = (tmp_path / "asyncio" / RESULTS).read_text().splitlines(keepends=True)[:5]
    (tmp_path / "ray" / RESULTS).write_text("".join(kept))
    fanned = run_experiment(GRID, tmp_path / "ray", runner=RayRunner(workers=2), progress=False)
    assert (fanned.skipped, fanned.ran, fanned.failed) == (5, 27, 0)
    assert transcripts_by_cell(tmp_path / "ray") == expected
    assert ray.is_initialized(), "a runner inside an existing instance leaves it running"


def test_the_queue_hands_out_each_index_once_in_order():
    queue = JobQueue(5)
    assert [queue.take(2) for _ in range(4)] == [(0, 2), (2, 4), (4, 5), (5, 5)]


def test_a_slow_worker_plays_fewer_consultations_and_the_others_are_not_held_back(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    marker, log = tmp_path / "slow-worker", tmp_path / "slow-worker-played"

    class SlowFirstWorker(ray_runner.QueueWorker):
        """The first worker to start stalls its whole process for 1.5 s after each
        consultation ends, as on an overloaded machine, noting each one it played; defined
        here, so Ray ships it by value."""

        def __init__(self) -> None:
            super().__init__()
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                self.slow = True
            except FileExistsError:
                self.slow = False

        async def run(self, *args):
            async for finished in super().run(*args):
                if self.slow:
                    with log.open("a") as played:
                        played.write("x" * len(finished))
                    time.sleep(1.5)
                yield finished

    monkeypatch.setattr(ray_runner, "QueueWorker", SlowFirstWorker)
    grid = GRID.model_copy(update={"concurrency": 1})
    runner = RayRunner(workers=2)
    outcome = run_experiment(grid, tmp_path / "run", runner=runner, progress=False)
    assert (outcome.ran, outcome.failed) == (32, 0)
    assert sorted(transcripts_by_cell(tmp_path / "run")) == sorted(grid.jobs().ids())
    assert sum(runner.played) == 32
    slow = len(log.read_text())
    assert slow == min(runner.played), "the slow worker is the one that played fewer"
    assert slow < 32 / 4, f"static shards would give 16 each; the queue gave {runner.played}"


def test_a_failed_worker_stops_alone_and_the_others_finish_the_queue(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    marker = tmp_path / "failing-worker"

    class FailingFirstWorker(ray_runner.QueueWorker):
        """The first worker to send a consultation back then dies, as if its node went away."""

        async def run(self, *args):
            async for finished in super().run(*args):
                yield finished
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    continue
                time.sleep(0.5)  # its consultation reaches the driver
                os._exit(1)

    monkeypatch.setattr(ray_runner, "QueueWorker", FailingFirstWorker)
    grid = GRID.model_copy(update={"concurrency": 1})
    with pytest.raises(RunError, match="1 of 2 Ray workers failed"):
        run_experiment(grid, tmp_path / "run", runner=RayRunner(workers=2), progress=False)
    saved = transcripts_by_cell(tmp_path / "run")
    # lost: what the dead worker had taken and not sent back (a few), not a static shard's
    # worth (with shards of 16, a worker dying after one consultation would lose 15)
    assert len(saved) >= 32 - 8, f"{32 - len(saved)} consultations lost"
    rerun = run_experiment(grid, tmp_path / "run", progress=False)
    assert (rerun.skipped, rerun.ran, rerun.failed) == (len(saved), 32 - len(saved), 0)


def test_workers_record_into_the_drivers_cache_which_replays_without_a_server(
    local_ray: None, tmp_path: Path
):
    cache = tmp_path / "replies.sqlite"
    with start_in_subprocess(StubConfig()) as server:
        model = ModelConfig(model="openai/stub", api_base=server.base_url)
        grid = GRID.model_copy(update={"roles": Roles(patient=model, doctors={"random": "random"})})
        recording = ModelClient(ReplyCache(cache, CacheMode.READ_WRITE))
        recorded = run_experiment(
            grid, tmp_path / "ray", client=recording, runner=RayRunner(workers=2), progress=False
        )
    assert (recorded.ran, recorded.failed) == (32, 0)
    assert len(ReplyCache(cache, CacheMode.REPLAY)) > 32, "the patient's calls, from both workers"
    replaying = ModelClient(ReplyCache(cache, CacheMode.REPLAY))
    replayed = run_experiment(grid, tmp_path / "replay", client=replaying, progress=False)
    assert replayed.failed == 0
    assert transcripts_by_cell(tmp_path / "replay") == transcripts_by_cell(tmp_path / "ray")


def test_workers_rebuild_the_drivers_client_from_its_cache(tmp_path: Path):
    cache = ReplyCache(tmp_path / "replies.sqlite", CacheMode.READ_WRITE)
    settings = ClientSettings.of(ModelClient(cache))
    rebuilt = settings.build()
    assert rebuilt.cache is not None
    assert (rebuilt.cache.path, rebuilt.cache.mode) == (cache.path.resolve(), cache.mode)
    assert ClientSettings.of(ModelClient()).build().cache is None
    with pytest.raises(ConfigError, match="transport"):
        ClientSettings.of(ModelClient(transport=ScriptedTransport({})))
    with pytest.raises(ConfigError, match="at least one worker"):
        RayRunner(workers=0)


def test_eval_picks_ray_from_its_flags_or_the_experiment():
    parser = argparse.ArgumentParser()
    eval_command.add_parser(parser.add_subparsers())

    def choose(argv: list[str], experiment: Experiment = GRID):
        return eval_command.choose_runner(parser.parse_args(["eval", *argv]), experiment)

    assert choose([]) is run_in_process
    local = choose(["--ray", "--workers", "3"])
    assert (local.address, local.workers) == (None, 3)
    configured = GRID.model_copy(update={"ray": RayOptions(address="auto", workers=4)})
    from_config = choose([], configured)
    assert (from_config.address, from_config.workers) == ("auto", 4)
    flagged = choose(["--ray", "ray://head:10001"], configured)
    assert (flagged.address, flagged.workers) == ("ray://head:10001", 4)
    with pytest.raises(ConfigError, match="add --ray"):
        choose(["--workers", "2"])


def processes() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return found


def descendants(root: int) -> set[int]:
    table, found, frontier = processes(), set(), {root}
    while frontier:
        frontier = {pid for pid, parent in table.items() if parent in frontier} - found
        found |= frontier
    return found


def listening_addresses(pids: set[int]) -> set[str]:
    """The local addresses the sockets of these processes listen on (TCP, IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = str(fd.readlink())
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                addresses.add(kernel_address(fields[1].split(":")[0]))
    return addresses


def kernel_address(hex_address: str) -> str:
    """An address as /proc/net/tcp* writes it: 32-bit words in the host's (little) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc")
def test_a_local_instance_listens_on_loopback_only(local_ray: None):
    assert ray.util.get_node_ip_address() == "127.0.0.1"
    addresses = listening_addresses(descendants(os.getpid()))
    assert addresses, "no Ray process found listening"
    parsed = [ipaddress.ip_address(address) for address in addresses]
    unmapped = [getattr(ip, "ipv4_mapped", None) or ip for ip in parsed]  # ::ffff:127.0.0.1
    assert all(ip.is_loopback for ip in unmapped), addresses


DRIVER = """
import subprocess, sys, time
from clinic_env.runner.ray_runner import reaped_if_orphaned
before = subprocess.Popen(["sleep", "300"])
with reaped_if_orphaned():
    started = subprocess.Popen(["sh", "-c", "sleep 300 & exec sleep 300"])
print(before.pid, started.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_what_a_killed_driver_started_in_the_block_is_ended_and_nothing_else():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True)
    before, started = map(int, driver.stdout.readline().split())
    deadline = time.monotonic() + 10
    while len(descendants(started)) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    doomed = {started, *descendants(started)}
    assert len(doomed) == 2, "the started child and its own child"
    time.sleep(1)  # the watcher has looked at least once
    driver.kill()
    driver.wait()
    deadline = time.monotonic() + 15
    while doomed & processes().keys() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = doomed & processes().keys()
    alive = before in processes()
    os.kill(before, signal.SIGKILL)  # it was started before the block: ours to end
    assert not left, "a process started in the block outlived its driver"
    assert alive, "a process started before the block was ended too"
