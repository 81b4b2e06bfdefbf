"""Model servers for batch runs as Ray actors: vLLM on GPUs, or stub servers without them.

:func:`start_servers` starts identical OpenAI-compatible servers, one per GPU or per
tensor-parallel group of GPUs, each as the child process of a Ray actor (Ray places the
actor and names its GPUs in ``CUDA_VISIBLE_DEVICES``, which the child inherits; the child
dies with the actor). It waits until every server answers ``/health``. The model config of
the group lists all of them as ``replicas``, so the client keeps each conversation on one
replica and the engine's prefix cache pays off turn after turn; :func:`write_roles` saves
it as a roles file for ``--roles``. The stub backend serves
:mod:`clinic_env.testing.stub_server` instead, to try the routing without a GPU.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from clinic_env.errors import ConfigError, RunError
from clinic_env.llm.config import ModelConfig
from clinic_env.runner.ray_runner import import_ray
from clinic_env.testing.stub_server import StubConfig

Backend = Literal["vllm", "stub"]
STUB_REPLICAS = 2
"""How many stub servers start when no count is given (stubs need no GPU to count by)."""
_WILDCARDS = ("0.0.0.0", "::")
_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class ServeSpec:
    """What to serve, how many copies, and where they listen.

    ``host`` is where each server binds on its node: loopback (the default) when the
    clients run on the same machine; ``0.0.0.0`` to reach servers on other nodes, which
    are then advertised at their node's address.
    """

    model: str
    backend: Backend = "vllm"
    replicas: int | None = None
    tensor_parallel: int = 1
    host: str = "127.0.0.1"
    vllm_args: tuple[str, ...] = ()
    stub: StubConfig = field(default_factory=StubConfig)
    startup_timeout_s: float = 900.0

    @property
    def model_id(self) -> str:
        """The litellm id the roles file names: vLLM's own provider, or plain OpenAI."""
        return f"{'hosted_vllm' if self.backend == 'vllm' else 'openai'}/{self.model}"

    def command(self, port: int) -> list[str]:
        """The server's command line on its node."""
        if self.backend == "stub":
            return [
                sys.executable, "-m", "clinic_env.testing.stub_server",
                "--host", self.host, "--port", str(port), "--model-name", self.model,
                "--latency", str(self.stub.latency_s), "--slots", str(self.stub.slots),
                "--seed", str(self.stub.seed),
            ]  # fmt: skip
        command = [
            _vllm_executable(), "serve", self.model,
            "--host", self.host, "--port", str(port),
            "--tensor-parallel-size", str(self.tensor_parallel),
        ]  # fmt: skip
        if self.tensor_parallel > 1:  # the actor holds the GPUs: vLLM must not ask Ray again
            command += ["--distributed-executor-backend", "mp"]
        return command + list(self.vllm_args)


def _vllm_executable() -> str:
    """vLLM's console script, beside this Python first (a node may have several Pythons)."""
    beside = Path(sys.executable).with_name("vllm")
    found = str(beside) if beside.exists() else shutil.which("vllm")
    if found is None:
        raise RunError("vLLM is not installed on this Ray node: pip install vllm")
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
                raise RunError(f"the {self.spec.backend} server exited:\n{self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
            time.sleep(1)
        raise RunError(
            f"the {self.spec.backend} server did not answer {url} within {timeout_s:.0f} s:\n"
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
    """As asked, else one per tensor-parallel group of the cluster's GPUs."""
    if spec.replicas is not None:
        if spec.replicas < 1:
            raise ConfigError(f"at least one replica, not {spec.replicas}")
        return spec.replicas
    if spec.backend == "stub":
        return STUB_REPLICAS
    gpus = int(import_ray().cluster_resources().get("GPU", 0))
    if gpus < spec.tensor_parallel:
        raise ConfigError(
            f"the Ray cluster has {gpus} GPU(s), fewer than a tensor-parallel group of "
            f"{spec.tensor_parallel}; try the routing without GPUs with --backend stub"
        )
    return gpus // spec.tensor_parallel


def start_servers(spec: ServeSpec) -> ServerGroup:
    """Start the replicas as Ray actors (Ray must be initialised) and wait until healthy."""
    if spec.tensor_parallel < 1:
        raise ConfigError(f"--tensor-parallel must be at least 1, not {spec.tensor_parallel}")
    ray = import_ray()
    gpus = spec.tensor_parallel if spec.backend == "vllm" else 0
    actor_class = ray.remote(num_cpus=0, num_gpus=gpus)(ServerActor)
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
