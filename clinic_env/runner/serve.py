"""Model servers for batch runs as Ray actors: vLLM or transformers on GPUs, or stub servers.

:func:`start_servers` starts identical OpenAI-compatible servers, one per GPU or per
tensor-parallel group of GPUs, each as the child process of a Ray actor (Ray places the
actor and names its GPUs in ``CUDA_VISIBLE_DEVICES``, which the child inherits; the child
dies with the actor). It waits until every server answers ``/health``. The model config of
the group lists all of them as ``replicas``, so the client keeps each conversation on one
replica and the engine's prefix cache pays off turn after turn; :func:`write_roles` saves
it as a roles file for ``--roles``.

The engines: ``vllm serve``; ``transformers serve`` with continuous batching (paged
attention and prefix sharing, one GPU per server), which needs nothing beyond PyTorch and
``transformers[serving]``; and the stub model server of ``clinic_env.testing``, started by
its module path (the engine never imports its test doubles), to try the routing without a
GPU. ``cpu=True`` asks Ray for no GPU, so transformers can serve a small model on CPUs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from clinic_env.errors import ConfigError, RunError
from clinic_env.llm.config import ModelConfig
from clinic_env.runner.ray_runner import import_ray

Engine = Literal["vllm", "transformers", "stub"]
ENGINES: tuple[Engine, ...] = ("vllm", "transformers", "stub")
STUB_MODULE = "clinic_env.testing.stub_server"
"""Run by module path (``python -m``): production code never imports the test doubles."""
CPU_REPLICAS = 2
"""How many servers start without GPUs to count by (the stub, or ``cpu``) unless told."""
_INSTALL_HINT = {"vllm": "pip install vllm", "transformers": "pip install 'transformers[serving]'"}
_WILDCARDS = ("0.0.0.0", "::")
_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class ServeSpec:
    """What to serve, with which engine, how many copies, and where they listen.

    ``host`` is where each server binds on its node: loopback (the default) when the
    clients run on the same machine; ``0.0.0.0`` to reach servers on other nodes, which
    are then advertised at their node's address. ``engine_args`` go at the end of the
    engine's command line (for the stub: its own flags, such as ``--latency``).
    """

    model: str
    engine: Engine = "vllm"
    replicas: int | None = None
    tensor_parallel: int = 1
    host: str = "127.0.0.1"
    engine_args: tuple[str, ...] = ()
    cpu: bool = False
    startup_timeout_s: float = 900.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}: one of {', '.join(ENGINES)}")
        if self.tensor_parallel < 1:
            raise ConfigError(f"--tensor-parallel must be at least 1, not {self.tensor_parallel}")
        if self.tensor_parallel > 1 and self.engine != "vllm":
            raise ConfigError(
                f"the {self.engine} engine runs one server per GPU: --tensor-parallel "
                "needs the vllm engine"
            )
        if self.cpu and self.engine == "vllm":
            raise ConfigError("--cpu serves with transformers (or the stub), not vLLM")

    @property
    def gpus(self) -> int:
        """GPUs each server's actor asks Ray for."""
        return 0 if self.cpu or self.engine == "stub" else self.tensor_parallel

    @property
    def model_id(self) -> str:
        """The litellm id the roles file names: vLLM's own provider, or plain OpenAI."""
        return f"{'hosted_vllm' if self.engine == 'vllm' else 'openai'}/{self.model}"

    def command(self, port: int) -> list[str]:
        """The server's command line on its node."""
        where = ["--host", self.host, "--port", str(port)]
        if self.engine == "stub":
            command = [sys.executable, "-m", STUB_MODULE, *where, "--model-name", self.model]
        elif self.engine == "transformers":
            # Continuous batching is what makes it a server for many conversations; its
            # per-request warning line would flood the log at a thousand in flight.
            command = [
                _console_script("transformers"), "serve", self.model, *where,
                "--continuous-batching", "--log-level", "error",
            ]  # fmt: skip
            if self.cpu:
                command += ["--device", "cpu"]
        else:
            command = [
                _console_script("vllm"), "serve", self.model, *where,
                "--tensor-parallel-size", str(self.tensor_parallel),
            ]  # fmt: skip
            if self.tensor_parallel > 1:  # the actor holds the GPUs: vLLM must not ask Ray again
                command += ["--distributed-executor-backend", "mp"]
        return command + list(self.engine_args)


def _console_script(engine: Literal["vllm", "transformers"]) -> str:
    """The engine's console script, beside this Python first (a node may have several)."""
    beside = Path(sys.executable).with_name(engine)
    found = str(beside) if beside.exists() else shutil.which(engine)
    if found is None:
        raise RunError(f"{engine} is not installed on this Ray node: {_INSTALL_HINT[engine]}")
    return found


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the child, before exec: its own process group, and SIGTERM when its actor dies
    (a killed actor gets no chance to stop it)."""
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


PORT_ATTEMPTS = 3
PORT_TAKEN = "Address already in use"
"""What a server's log says when its port was taken before it could bind it."""


def _free_port(host: str) -> int:
    """A port the OS just reported free (a tiny race: :meth:`ServerActor.launch` retries)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ServerActor:
    """One server process on the actor's node; a Ray actor class once wrapped by Ray."""

    def __init__(self, spec: ServeSpec) -> None:
        self.spec = spec
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkdtemp(prefix="clinic-env-serve-")) / "server.log"
        self.port = 0

    def start(self) -> str:
        """Starts the server and returns its base URL (it may not answer yet)."""
        try:
            self.port = _free_port(self.spec.host)
        except OSError as exc:
            raise RunError(f"cannot listen on {self.spec.host}: {exc}") from None
        command = self.spec.command(self.port)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only os and prctl calls
            )
        host = self.spec.host
        if host in _WILDCARDS:
            host = import_ray().util.get_node_ip_address()
        return f"http://{_url_host(host)}:{self.port}/v1"

    def wait_healthy(self, timeout_s: float) -> None:
        """Returns once ``/health`` answers 200; raises with the log's tail if it never does."""
        host = "127.0.0.1" if self.spec.host in _WILDCARDS else self.spec.host
        url = f"http://{_url_host(host)}:{self.port}/health"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RunError(f"the {self.spec.engine} server exited:\n{self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
            time.sleep(1)
        raise RunError(
            f"the {self.spec.engine} server did not answer {url} within {timeout_s:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def launch(self, timeout_s: float) -> str:
        """Start and wait until healthy; a port taken between choosing and binding it (other
        servers and Ray's own workers pick ports too) is retried on another port."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            url = self.start()
            try:
                self.wait_healthy(timeout_s)
            except RunError:
                if attempt == PORT_ATTEMPTS or PORT_TAKEN not in self.log_tail():
                    raise
                continue
            return url
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-_LOG_TAIL_LINES:])

    def stop(self) -> None:
        """SIGTERM to the server's process group (vLLM has worker processes), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass
class ServerGroup:
    """The running servers: their actors and base URLs, in a fixed order."""

    spec: ServeSpec
    actors: list[Any]
    urls: tuple[str, ...]

    def model_config(self, concurrency: int = 128, **settings: Any) -> ModelConfig:
        """The config that spreads conversations over every replica, ``concurrency`` each."""
        return ModelConfig(
            model=self.spec.model_id, replicas=self.urls, concurrency=concurrency, **settings
        )

    def dead(self) -> list[str]:
        """The URLs of servers that have stopped, or whose actor has."""
        ray = import_ray()
        gone = []
        for url, actor in zip(self.urls, self.actors, strict=True):
            try:
                alive = ray.get(actor.alive.remote(), timeout=60)
            except ray.exceptions.RayError:
                alive = False
            if not alive:
                gone.append(url)
        return gone

    def stop(self) -> None:
        ray = import_ray()
        with contextlib.suppress(Exception):  # a dead actor has nothing left to stop
            ray.get([actor.stop.remote() for actor in self.actors], timeout=60)
        for actor in self.actors:
            ray.kill(actor)


def replica_count(spec: ServeSpec) -> int:
    """As asked, else one per GPU (or tensor-parallel group of them) in the cluster.

    Servers that ask for more GPUs than the cluster has are refused here: Ray would keep
    their actors pending for ever.
    """
    if spec.replicas is not None and spec.replicas < 1:
        raise ConfigError(f"at least one replica, not {spec.replicas}")
    if spec.gpus == 0:
        return spec.replicas or CPU_REPLICAS
    gpus = int(import_ray().cluster_resources().get("GPU", 0))
    wanted = (spec.replicas or 1) * spec.gpus
    if gpus < wanted:
        raise ConfigError(
            f"the Ray cluster has {gpus} GPU(s), fewer than the {wanted} asked for; try the "
            "routing without GPUs with --engine stub, or a small model with --cpu"
        )
    return spec.replicas or gpus // spec.gpus


def start_servers(spec: ServeSpec) -> ServerGroup:
    """Start the replicas as Ray actors (Ray must be initialised) and wait until healthy."""
    ray = import_ray()
    actor_class = ray.remote(num_cpus=0, num_gpus=spec.gpus)(ServerActor)
    actors = [actor_class.remote(spec) for _ in range(replica_count(spec))]
    group = ServerGroup(spec, actors, ())
    try:
        group.urls = tuple(
            ray.get([actor.launch.remote(spec.startup_timeout_s) for actor in actors])
        )
    except BaseException:
        group.stop()
        raise
    return group


def write_roles(path: Path, config: ModelConfig, roles: Sequence[str]) -> None:
    """A roles file (for ``--roles``) in which each of ``roles`` is played by ``config``."""
    header = (
        f"# Written by clinic-env serve: {len(config.replicas)} replica(s) of {config.model}.\n"
        "# Each conversation stays on one replica. The servers stop when serve does.\n"
    )
    # A fresh dump per role: YAML would write shared objects as anchors and aliases.
    settings = {role: config.model_dump(mode="json", exclude_defaults=True) for role in roles}
    body = yaml.safe_dump(settings, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
