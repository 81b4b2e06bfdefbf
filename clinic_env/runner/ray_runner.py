"""The Ray runner: worker processes pull a run's pending cells from one queue, one store.

Each worker is a Ray actor that rebuilds the experiment's batch with a model client of its
own (a client's sqlite connection and asyncio semaphores cannot travel; its cache file can be
shared, since sqlite in WAL mode is safe with many writers) and runs the same asyncio
:meth:`Batch.play`, its jobs pulled from a shared queue: a :class:`JobQueue` actor hands out
the next few positions of the pending jobs to whichever worker asks, so a slow worker (a
loaded node, long consultations) takes fewer jobs instead of holding the others' share. The
pending jobs travel once, as a lazy grid and its positions (a few MB for 200,000 cells), and
each worker builds a job when it takes it. Transcripts stream back to the driver as
consultations end (a Ray streaming generator), and the driver appends each to the run's one
store, so a killed run loses only the consultations in flight, as with the asyncio runner.

A local instance (started when no address is given) listens on loopback only, and its
processes are ended if the driver dies (see :func:`init_ray`). The experiment's
``concurrency`` and each model's ``concurrency`` apply per worker. Agents
must be importable by the workers: built-in ones are; an agent registered only in the
driver's process is unknown to them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from clinic_env.errors import ConfigError, RunError
from clinic_env.llm.cache import CacheMode, ReplyCache
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.runner.batch import Job
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.runner import make_batch
from clinic_env.schema.transcript import Transcript

INSTALL_HINT = 'pip install "clinic-env[ray]"'
LOOPBACK = "127.0.0.1"
_CLUSTER_MODE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_WATCHERS: list[subprocess.Popen[str]] = []
"""Watchers started by this process (kept so that they are not reported as leaked)."""
_REAPER = r"""
import os, signal, sys, time

def processes():
    found = {}  # pid -> (parent pid, start time)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                found[int(name)] = (int(fields[1]), fields[19])
            except (OSError, IndexError, ValueError):
                pass
    return found

def children(table, parents):
    return {pid for pid, (parent, _) in table.items() if parent in parents}

driver = os.getppid()
before = children(processes(), {driver})
print("ready", flush=True)
sys.stdin.readline()
table = processes()
roots = children(table, {driver}) - before - {os.getpid()}
known = {}
while roots and os.getppid() == driver:
    family = frontier = set(roots)
    while frontier:
        frontier = children(table, frontier) - family
        family = family | frontier
    for pid in family:
        known.setdefault(pid, table[pid][1])
    time.sleep(0.5)
    table = processes()
    roots = {pid for pid in roots if table.get(pid, (0, None))[1] == known[pid]}
for sig in (signal.SIGTERM, signal.SIGKILL):
    table = processes()
    alive = [pid for pid, start in known.items() if table.get(pid, (0, None))[1] == start]
    for pid in alive:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    if alive and sig == signal.SIGTERM:
        time.sleep(2)
"""
"""The watcher of :func:`reaped_if_orphaned`: standard library only, so it starts at once."""
Finished = list[tuple[int, Transcript]]
"""What a worker sends back at a time: the transcripts that ended together, by job index."""
_QUIET_BLOCKING_GET = "RAY_WARN_BLOCKING_GET_INSIDE_ASYNC"


def import_ray() -> ModuleType:
    """The ``ray`` module, or an ImportError that names the extra to install."""
    try:
        import ray  # noqa: PLC0415 - an optional extra, and slow to import
    except ImportError as exc:
        raise ImportError(f"Ray is not installed; {INSTALL_HINT}") from exc
    return ray


def init_ray(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address``, or start a local instance when it is None.

    A local instance listens on loopback only and is reaped if this process dies (see
    :func:`reaped_if_orphaned`). Does nothing when Ray is already initialised in this
    process (a notebook, a test fixture). Returns True when this call connected, so the
    caller knows to shut it down.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"address": address, "logging_level": logging.WARNING}
    if address is not None or os.environ.get("RAY_ADDRESS"):  # Ray joins that cluster
        ray.init(**options)
        return True
    options |= {"num_cpus": num_cpus or os.cpu_count(), "include_dashboard": False}
    # Ray runs its workers at nice 15; here they are the run's main work, and on a shared
    # machine anything else (the driver included) would starve them.
    options["_system_config"] = {"worker_niceness": 0}
    with reaped_if_orphaned(), _loopback_only():
        ray.init(**options)
    node = ray.util.get_node_ip_address()
    if node != LOOPBACK:
        ray.shutdown()
        raise RunError(
            f"the local Ray instance would listen on {node}, not only on {LOOPBACK}; start "
            "a cluster yourself (ray start --head) and pass its address to --ray"
        )
    return True


@contextmanager
def _loopback_only() -> Iterator[None]:
    """Ray binds every server to all interfaces unless its node address is loopback, and
    turns a loopback ``_node_ip_address`` into the machine's address unless its cluster
    mode is off (as on macOS). Off for this start only: its processes inherit the variable,
    and this process reads the flag Ray computed from it at import."""
    from ray._private import ray_constants  # noqa: PLC0415 - optional extra

    saved_flag, saved_env = ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(_CLUSTER_MODE)
    os.environ[_CLUSTER_MODE] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(_CLUSTER_MODE, None)
        else:
            os.environ[_CLUSTER_MODE] = saved_env


@contextmanager
def reaped_if_orphaned() -> Iterator[None]:
    """Whatever processes this process starts inside the block (and their descendants) are
    ended if this process dies, or once they have all ended by themselves.

    Ray fate-shares its GCS and raylet with the driver, but their agents outlive a driver
    killed with SIGKILL. A small watcher in a session of its own notes this process's
    children before the block and after it, follows the new ones' descendants while this
    process lives, and ends those still running (SIGTERM, then SIGKILL) when it is gone.
    Linux only (it reads ``/proc``); elsewhere the block runs unwatched.
    """
    if not Path("/proc/self/stat").exists():
        yield
        return
    watcher = subprocess.Popen(
        [sys.executable, "-I", "-c", _REAPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    watcher.stdout.readline()  # it has noted the children from before
    try:
        yield
    finally:
        watcher.stdin.write("started\n")
        watcher.stdin.flush()
        _WATCHERS.append(watcher)


@dataclass(frozen=True)
class ClientSettings:
    """What a worker needs to build a model client like the driver's: its cache file."""

    cache_path: str | None = None
    cache_mode: CacheMode = CacheMode.READ_WRITE

    @classmethod
    def of(cls, client: ModelClient | None) -> ClientSettings:
        client = client or default_client()
        if client.transport is not None:
            raise ConfigError("a model client with its own transport cannot be sent to Ray workers")
        if client.cache is None:
            return cls()
        return cls(str(client.cache.path.resolve()), client.cache.mode)

    def build(self) -> ModelClient:
        if self.cache_path is None:
            return ModelClient()
        return ModelClient(ReplyCache(self.cache_path, self.cache_mode))


class JobQueue:
    """The run's one queue: indices of the pending jobs, handed out in order to whichever
    worker asks (a Ray actor; it runs one call at a time, so no index is handed out twice)."""

    def __init__(self, total: int) -> None:
        self.next, self.total = 0, total

    def take(self, count: int) -> tuple[int, int]:
        """The next ``count`` indices at most, as ``(start, stop)``; empty once all are out."""
        start = self.next
        self.next = min(self.total, start + count)
        return start, self.next


class QueueWorker:
    """One worker process: plays jobs taken from the queue with the asyncio batch, yielding
    their transcripts as they end."""

    def __init__(self) -> None:
        # Taking the next jobs waits on the queue inside the worker's event loop (see
        # ``_taken``); Ray would warn about that blocking call once per worker.
        os.environ[_QUIET_BLOCKING_GET] = "0"

    async def run(
        self, experiment: Experiment, jobs: Sequence[Job], queue: Any, client: ClientSettings
    ) -> AsyncIterator[Finished]:
        batch = make_batch(experiment, client.build())
        index: dict[str, int] = {}  # the jobs in flight -> their index in ``jobs``
        ended: asyncio.Queue[tuple[int, Transcript] | None] = asyncio.Queue()

        def on_done(job: Job, transcript: Transcript) -> None:
            ended.put_nowait((index.pop(job.id), transcript))

        def taken() -> Iterator[Job]:
            for number in _taken(queue, _take_size(experiment.concurrency)):
                job = jobs[number]
                index[job.id] = number
                yield job

        run = asyncio.create_task(
            batch.play(taken(), concurrency=experiment.concurrency, on_done=on_done)
        )
        run.add_done_callback(lambda _: ended.put_nowait(None))
        try:
            while True:
                items = [await ended.get()]
                while not ended.empty():  # whatever ended meanwhile travels in one message
                    items.append(ended.get_nowait())
                finished = [item for item in items if item is not None]
                if finished:
                    yield finished
                if len(finished) < len(items):
                    break
            await run  # the batch's own error, if it had one
        finally:
            run.cancel()  # a stream that stopped early takes no more jobs from the queue


def _take_size(concurrency: int) -> int:
    """How many jobs a worker takes at once: a quarter of what it plays at once, so it asks
    the queue about once per quarter of its slots freed, and holds few jobs not yet begun
    (at most two takes) when the queue runs dry."""
    return max(1, concurrency // 4)


def _taken(queue: Any, size: int) -> Iterator[int]:
    """Job indices taken from ``queue`` ``size`` at a time, the next take asked for as soon
    as the one before arrives. The batch pulls jobs with plain iteration, so waiting for a
    take blocks the worker's event loop; it is there already unless consultations end faster
    than one round trip to the queue (a millisecond on one machine)."""
    ray = import_ray()
    ahead = queue.take.remote(size)
    while True:
        start, stop = ray.get(ahead)
        if start == stop:
            return
        ahead = queue.take.remote(size)
        yield from range(start, stop)


class RayRunner:
    """A :data:`~clinic_env.runner.runner.Runner` that fans the pending cells out to Ray.

    ``address`` is a running cluster (``"auto"``, ``"ray://host:10001"``); None starts a
    local instance for this run and stops it afterwards. Already inside ``ray.init()``, the
    runner uses that instance and leaves it running.
    """

    def __init__(self, address: str | None = None, workers: int = 2) -> None:
        if workers < 1:
            raise ConfigError(f"the Ray runner needs at least one worker, not {workers}")
        import_ray()  # fail before the run starts, not after the grid is planned
        self.address, self.workers = address, workers
        self.played: tuple[int, ...] = ()
        """How many consultations each worker played in the last run (a slow worker plays
        fewer), in the order the workers were started."""

    def __call__(
        self,
        experiment: Experiment,
        jobs: Sequence[Job],
        client: ModelClient | None,
        on_done: Callable[[Job, Transcript], None],
    ) -> None:
        self.played = ()
        if not jobs:
            return
        ray = import_ray()
        settings = ClientSettings.of(client)
        started = init_ray(self.address, num_cpus=max(self.workers, os.cpu_count() or 1))
        actors: list[Any] = []
        try:
            queue = ray.remote(num_cpus=0)(JobQueue).remote(len(jobs))
            actors.append(queue)
            worker = ray.remote(num_cpus=1)(QueueWorker)
            workers = [worker.remote() for _ in range(min(self.workers, len(jobs)))]
            actors += workers
            shared = ray.put(jobs)  # a lazy grid travels as its cases and positions
            streams = [actor.run.remote(experiment, shared, queue, settings) for actor in workers]
            played = [0] * len(streams)
            try:
                asyncio.run(_collect(streams, jobs, on_done, played))
            finally:
                self.played = tuple(played)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started:
                ray.shutdown()


async def _collect(
    streams: Sequence[Any],
    jobs: Sequence[Job],
    on_done: Callable[[Job, Transcript], None],
    played: list[int],
) -> None:
    """Hand each transcript to ``on_done`` as it arrives, counting them per worker in
    ``played``; a failed worker stops only itself (the others go on taking jobs), and what
    it had taken and not finished is left for the next run to resume."""

    async def drain(number: int, stream: Any) -> None:
        async for reference in stream:
            for index, transcript in await reference:
                on_done(jobs[index], transcript)
                played[number] += 1

    drains = (drain(number, stream) for number, stream in enumerate(streams))
    outcomes = await asyncio.gather(*drains, return_exceptions=True)
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if errors:
        raise RunError(
            f"{len(errors)} of {len(streams)} Ray workers failed ({errors[0]}); every "
            "consultation that ended is saved: run the same command again to resume"
        ) from errors[0]
