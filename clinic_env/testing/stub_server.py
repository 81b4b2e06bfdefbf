"""An OpenAI-compatible stub model server on loopback, for tests and throughput benchmarks.

It answers ``POST /v1/chat/completions`` like a busy model server would: each request holds
one of ``slots`` service slots for ``latency_s`` (extra requests wait in a FIFO queue), and a
seeded draw can turn a request into a 500, a 429, a hang or a malformed body. Replies are
scripted per role, read from the ``X-Clinic-Env-Role`` request header, so a whole
consultation can run against it. ``stream: true`` is answered with a one-chunk SSE stream.
A client that disconnects (or half-closes) aborts its request and frees its slot.

HTTP is aiohttp's server (its low-level ``web.Server``, with handler cancellation so a
disconnect aborts a request); this module only decides what to answer and when.

Run it in-process (``with StubModelServer(config) as server: server.base_url``), in a child
process (``start_in_subprocess``), or from the shell::

    python -m clinic_env.testing.stub_server --latency 0.1 --slots 256 --error-500 0.1

which prints the base URL on its first stdout line. Request headers are never stored or
logged (there is no access log): only the role header is read. ``GET /stub/stats`` returns
:class:`StubStats` as JSON, so a benchmark can read a child process's counters.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import random
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from pydantic import Field

from clinic_env.schema.base import Frozen
from clinic_env.testing.stub_replies import (
    DEFAULT_REPLIES,
    Answer,
    Reply,
    ReplyScript,
    completion_answer,
    error_answer,
)

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "DEFAULT_REPLIES",
    "ROLE_HEADER",
    "FaultRates",
    "ReplyScript",
    "StubConfig",
    "StubModelServer",
    "StubProcess",
    "StubStats",
    "main",
    "start_in_subprocess",
]

ROLE_HEADER = "x-clinic-env-role"
_MAX_BODY = 16 * 1024 * 1024
_BACKLOG = 4096  # a thousand clients connecting at once must not overflow the accept queue
_GC_THRESHOLD = 50_000  # the stub process's first-generation threshold (CPython's is 700)
_GRACE_S = 0.02  # on stopping: for connections being accepted, then for answers in flight
_ROUTES = {"/v1/chat/completions": "POST", "/v1/models": "GET", "/health": "GET"}
_ROUTES["/stub/stats"] = "GET"


class FaultRates(Frozen):
    """Probability of each injected fault per chat request; the remainder are answered."""

    error_500: float = Field(0.0, ge=0, le=1, description="probability of a 500")
    rate_limit_429: float = Field(0.0, ge=0, le=1, description="probability of a 429")
    hang: float = Field(0.0, ge=0, le=1, description="probability of never answering")
    malformed: float = Field(0.0, ge=0, le=1, description="probability of a broken body")

    def model_post_init(self, _context: Any) -> None:
        """The rates split one uniform draw, so together they cannot exceed one."""
        if self.error_500 + self.rate_limit_429 + self.hang + self.malformed > 1 + 1e-9:
            raise ValueError("fault rates add up to more than 1")


class StubConfig(Frozen):
    """How the stub behaves: service time, capacity, faults and the seed that fixes them.

    A 429 is answered at once, before queueing, with ``Retry-After`` (whole seconds, rounded
    up) and ``retry-after-ms``. A hang holds no slot and lasts until the client disconnects
    or the server stops. 500s and malformed bodies go through a slot, like replies do;
    malformed bodies alternate, per role, between JSON without ``choices`` and cut-off JSON.
    """

    latency_s: float = Field(0.0, ge=0, description="seconds of service per request")
    slots: int = Field(64, ge=1, description="requests served at once; the rest queue")
    faults: FaultRates = FaultRates()
    seed: int = Field(0, description="fixes the fault draws")
    model_name: str = Field("clinic-env-stub", description="the model named in responses")
    retry_after_s: float = Field(0.0, ge=0, description="the wait a 429 announces")


class StubStats(Frozen):
    """What the server has seen: chat requests by outcome and role, and the queue's peaks.

    Outcomes are ``ok``, ``500``, ``429``, ``hang``, ``malformed`` and ``400``; a request
    without a role header counts under ``(none)``; ``disconnects`` counts requests whose
    client went away before the answer; ``connections`` is how many client connections are
    open now (a client that closes its pools brings it back to 0).
    """

    requests: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    by_role: dict[str, int] = Field(default_factory=dict)
    in_service: int = 0
    max_in_service: int = 0
    queued: int = 0
    max_queued: int = 0
    disconnects: int = 0
    connections: int = 0


class StubModelServer:
    """The stub on its own event loop in a daemon thread; use it as a context manager."""

    def __init__(
        self,
        config: StubConfig | None = None,
        replies: ReplyScript = DEFAULT_REPLIES,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config, self.replies = config or StubConfig(), replies
        self._address: tuple[str, int] = (host, port)
        self._lock = threading.Lock()  # the loop writes the counts; any thread reads them
        self._counts: Counter[str] = Counter()
        self._rngs: dict[str, random.Random] = {}
        self._turns: Counter[tuple[str, str]] = Counter()
        self._serial = itertools.count(1)
        faults = self.config.faults
        rates = (faults.error_500, faults.rate_limit_429, faults.hang, faults.malformed)
        self._edges = list(
            zip(("500", "429", "hang", "malformed"), itertools.accumulate(rates), strict=True)
        )
        if not any(rates):
            self._edges = []  # every request is answered: no draw is needed
        self._requests: set[asyncio.Task[Any]] = set()
        self._web: Any = None  # aiohttp's server, once serving: it knows the open connections
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(self.config.slots)  # FIFO: waiters are served in order

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in ``/v1``."""
        return f"http://{self._address[0]}:{self._address[1]}/v1"

    @property
    def stats(self) -> StubStats:
        with self._lock:
            c = self._counts.copy()
        outcomes = {k[8:]: v for k, v in c.items() if k.startswith("outcome:")}
        by_role = {k[5:]: v for k, v in c.items() if k.startswith("role:")}
        scalars = {k: c[k] for k in StubStats.model_fields if k not in ("outcomes", "by_role")}
        scalars["connections"] = 0 if self._web is None else len(self._web.connections)
        return StubStats(outcomes=outcomes, by_role=by_role, **scalars)

    def start(self) -> StubModelServer:
        """Binds here, so a bind error reaches the caller, then serves on a daemon thread.

        It works from inside a running event loop too: the server has a loop of its own.
        """
        sock = socket.create_server(self._address, backlog=_BACKLOG)
        self._address = sock.getsockname()[:2]
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(sock),))
        self._thread.daemon = True
        self._thread.start()
        self._ready.wait()
        if self._loop is None:
            raise RuntimeError("the stub server did not start; its thread printed why")
        return self

    def stop(self) -> None:
        """Stops serving; hanging and queued requests see their connection closed."""
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join()
            self._thread = None

    def __enter__(self) -> StubModelServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def _serve(self, sock: socket.socket) -> None:
        from aiohttp import web  # noqa: PLC0415 - the stub's only heavy import, when it runs

        loop = asyncio.get_running_loop()

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> Any:
            """aiohttp's default request, allowed bodies as large as a model server takes."""
            return web.BaseRequest(
                message, payload, protocol, writer, task, loop, client_max_size=_MAX_BODY
            )

        server = web.Server(
            self._handle, request_factory=make_request, handler_cancellation=True, access_log=None
        )
        try:
            listener = await loop.create_server(server, sock=sock, backlog=_BACKLOG)
            self._web, self._loop = server, loop
        finally:
            self._ready.set()
        await self._stopping.wait()
        # Accept nothing more, but let connections being accepted finish: closing the
        # listener under them fails their setup (asyncio < 3.12) and leaks their sockets.
        loop.remove_reader(sock.fileno())
        for task in self._requests:
            task.cancel()
        await asyncio.sleep(_GRACE_S)
        listener.close()
        await server.shutdown(_GRACE_S)
        await asyncio.sleep(0)  # the transports' close callbacks

    def _count(self, *keys: str) -> None:
        with self._lock:
            counts = self._counts
            for key in keys:
                counts[key] += 1

    def _gauge(self, key: str, peak: str, delta: int) -> None:
        """Moves gauge ``key`` by ``delta`` and keeps its highest value under ``peak``."""
        with self._lock:
            counts = self._counts
            value = counts[key] = counts[key] + delta
            counts[peak] = max(counts[peak], value)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """One request; a disconnect (aiohttp cancels the handler) aborts it."""
        from aiohttp import web  # noqa: PLC0415 - imported by _serve already

        task = asyncio.current_task()
        assert task is not None
        self._requests.add(task)
        try:
            status, extra, body = await self._route(request)
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                self._count("disconnects")
            raise
        finally:
            self._requests.discard(task)
        headers = {"Content-Type": "application/json"} | extra
        if request.keep_alive:
            headers["Connection"] = "keep-alive"
        return web.Response(status=status, body=body.encode(), headers=headers)

    async def _route(self, request: web.BaseRequest) -> Answer:
        path, method = request.path, request.method
        if path not in _ROUTES:
            return error_answer(404, f"no route {path}", "not_found")
        if method != _ROUTES[path]:
            return error_answer(405, f"{method} not allowed on {path}", "invalid_request")
        if path == "/health":
            return 200, {}, '{"status": "ok"}'
        if path == "/stub/stats":
            return 200, {}, self.stats.model_dump_json()
        if path == "/v1/models":
            model = {"id": self.config.model_name, "object": "model", "created": 0}
            return 200, {}, json.dumps({"object": "list", "data": [model]})
        return await self._chat(request.headers.get(ROLE_HEADER) or None, await request.read())

    async def _chat(self, role: str | None, body: bytes) -> Answer:
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
            if not isinstance(request.get("messages"), list) or not request["messages"]:
                raise ValueError("'messages' must be a non-empty list")
        except ValueError as exc:
            self._count("requests", f"role:{role or '(none)'}", "outcome:400")
            return error_answer(400, f"invalid request: {exc}", "invalid_request_error")
        outcome, reply = self._draw(role, request)
        self._count("requests", f"role:{role or '(none)'}", f"outcome:{outcome}")
        if outcome == "429":
            wait = self.config.retry_after_s
            retry = {"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1e3))}
            return error_answer(429, "rate limited by the stub", "rate_limit_error", retry)
        if outcome == "hang":
            await asyncio.Future()  # ended by a disconnect or the server stopping
        self._gauge("queued", "max_queued", 1)
        try:
            await self._slots.acquire()
        finally:
            self._gauge("queued", "max_queued", -1)
        self._gauge("in_service", "max_in_service", 1)
        try:
            await asyncio.sleep(self.config.latency_s)
        finally:
            self._gauge("in_service", "max_in_service", -1)
            self._slots.release()
        if outcome == "500":
            return error_answer(500, str(reply or "injected server error"), "server_error")
        if outcome == "malformed":
            if reply == "no choices":
                return 200, {}, json.dumps({"id": "chatcmpl-stub", "object": "chat.completion"})
            return 200, {}, '{"id": "chatcmpl-stub", "choices": [{"message": '
        try:
            return completion_answer(request, reply, next(self._serial), self.config.model_name)
        except (AttributeError, KeyError, TypeError) as exc:
            return error_answer(500, f"the stub cannot send {reply!r}: {exc!r}", "server_error")

    def _draw(self, role: str | None, request: dict[str, Any]) -> tuple[str, Reply | None]:
        """Each role has its own seeded draw and rotation, so interleaving cannot change them."""
        key = role or ""
        outcome = "ok"
        if self._edges:
            rng = self._rngs.get(key)
            if rng is None:
                rng = self._rngs[key] = random.Random(f"{self.config.seed}:{key}")
            u = rng.random()
            for fault, edge in self._edges:
                if u < edge:
                    outcome = fault
                    break
        if outcome != "ok":
            self._turns[outcome, key] += 1
            odd = self._turns[outcome, key] % 2
            return outcome, "no choices" if outcome == "malformed" and odd else None
        if self.replies.responder is not None:
            try:
                return "ok", self.replies.responder(role, request)
            except Exception as exc:  # noqa: BLE001 - a test's bug becomes a visible 500
                return "500", f"the stub's responder raised {exc!r}"
        script = self.replies.by_role.get(key) or (self.replies.default,)
        self._turns["ok", key] += 1
        return "ok", script[(self._turns["ok", key] - 1) % len(script)]


class StubProcess:
    """A stub server in a child process, for benchmarks; ``stop()`` ends it with SIGTERM."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self.process, self.base_url = process, base_url

    @property
    def stats(self) -> StubStats:
        """Read live from the child's ``/stub/stats`` endpoint."""
        url = self.base_url.removesuffix("/v1") + "/stub/stats"
        with urllib.request.urlopen(url, timeout=10) as response:
            return StubStats.model_validate_json(response.read())

    def stop(self, timeout: float = 10) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> StubProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


_FLAGS = {"--latency": "latency_s", "--slots": "slots", "--seed": "seed"}
_FLAGS |= {"--model-name": "model_name", "--retry-after": "retry_after_s"}
_FLAGS |= {f"--{name.replace('_', '-')}": name for name in FaultRates.model_fields}


def start_in_subprocess(
    config: StubConfig | None = None,
    replies: ReplyScript = DEFAULT_REPLIES,
    *,
    port: int = 0,
    startup_timeout: float = 30,
) -> StubProcess:
    """Runs the CLI in a child process and waits for its base URL; replies must be data."""
    if replies.responder is not None:
        raise ValueError("a responder callable cannot cross into a child process")
    command = [sys.executable, "-m", "clinic_env.testing.stub_server", "--port", str(port)]
    config = config or StubConfig()
    values = config.model_dump() | config.faults.model_dump()
    command += [part for flag, field in _FLAGS.items() for part in (flag, str(values[field]))]
    command += ["--replies-json", replies.model_dump_json(exclude={"responder"})]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    stdout, first = process.stdout, []
    assert stdout is not None
    reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(startup_timeout)
    if not first or not first[0].startswith("http://"):
        StubProcess(process, "").stop()
        raise RuntimeError(f"the stub server did not start (exit status {process.returncode})")
    return StubProcess(process, first[0].strip())


def main(argv: list[str] | None = None) -> None:
    """The CLI: prints the base URL on the first line, then serves until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="An OpenAI-compatible stub model server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    for flag, field in _FLAGS.items():
        kind = StubConfig.model_fields.get(field) or FaultRates.model_fields[field]
        convert = cast(Callable[[str], Any], kind.annotation)  # float or int
        parser.add_argument(flag, dest=field, type=convert, help=kind.description)
    parser.add_argument("--replies-json", help="a ReplyScript as JSON: by_role and default")
    args = vars(parser.parse_args(argv))
    given = {field: args[field] for field in _FLAGS.values() if args[field] is not None}
    faults = {k: given.pop(k) for k in list(given) if k in FaultRates.model_fields}
    config = StubConfig.model_validate(given | {"faults": faults})
    replies = DEFAULT_REPLIES
    if args["replies_json"]:
        replies = ReplyScript.model_validate_json(args["replies_json"])
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with StubModelServer(config, replies, host=args["host"], port=args["port"]) as server:
        # This process only serves, and what a request makes is freed by reference counting
        # (the collector finds next to no garbage here): it need never scan what start-up
        # made (modules, the config), nor run every 700 allocations while serving.
        gc.freeze()
        gc.set_threshold(_GC_THRESHOLD, 20, 20)
        print(server.base_url, flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
