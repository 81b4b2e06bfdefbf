"""``clinic-env serve MODEL``: model servers for batch runs, as Ray actors, until Ctrl-C.

Starts one OpenAI-compatible server per GPU (or per ``--tensor-parallel`` group of GPUs, with
vLLM) on a local Ray instance, or on the cluster at ``--ray ADDRESS``, waits until every one
answers, and writes a roles file that lists them all as replicas of one model::

    clinic-env serve Qwen/Qwen2.5-0.5B-Instruct --roles-out serve-roles.yaml
    clinic-env serve Qwen/Qwen2.5-0.5B-Instruct --engine transformers
    clinic-env run --roles serve-roles.yaml          # in another shell

Each role's entry in that file is a model config, which an experiment's ``roles:`` takes as
it is. ``--engine stub`` serves the stub model server instead, to try it without a GPU;
``--engine transformers --cpu`` serves a small model on CPUs (docs/gpu.md).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from clinic_env.errors import ConfigError, RunError
from clinic_env.runner.ray_runner import import_ray, init_ray
from clinic_env.runner.serve import (
    ENGINES,
    ServerGroup,
    ServeSpec,
    start_servers,
    write_roles,
)

ROLES = ("patient", "measurement", "doctor", "judge")
DEFAULT_ROLES = ("doctor", "patient")
STUB_MODEL = "clinic-env-stub"
HEALTH_CHECK_S = 5.0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "serve", help="start model servers (vLLM or transformers on GPUs) as Ray actors"
    )
    parser.add_argument(
        "model", nargs="?", default=None, help="a Hugging Face model id or a local folder"
    )
    parser.add_argument("--engine", choices=ENGINES, default="vllm", help="default: vllm")
    parser.add_argument(
        "--replicas", type=int, default=None, help="servers (default: one per GPU group; 2 else)"
    )
    parser.add_argument(
        "--tensor-parallel", type=int, default=1, metavar="K", help="GPUs per vLLM server"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="transformers on CPUs, no GPU asked (small models)"
    )
    parser.add_argument(
        "--ray", default=None, metavar="ADDRESS", help="a running cluster (default: a local one)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="where servers listen (0.0.0.0 for clients on other nodes)",
    )
    parser.add_argument(
        "--roles-out", type=Path, default=Path("serve-roles.yaml"), help="the roles file written"
    )
    parser.add_argument(
        "--for",
        dest="roles",
        action="append",
        choices=ROLES,
        help="a role the servers play (repeatable; default: doctor and patient)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=128, help="calls in flight per replica (default 128)"
    )
    parser.add_argument(
        "--engine-args",
        default="",
        help='more options for the engine\'s server, e.g. "--max-model-len 8192" (vllm serve)',
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=900, help="seconds to wait for health"
    )
    parser.add_argument(
        "--stub-latency", type=float, default=0.0, help="stub engine: seconds per reply"
    )
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    model = args.model or (STUB_MODEL if args.engine == "stub" else None)
    if model is None:
        raise ConfigError(
            "name the model to serve, e.g. clinic-env serve Qwen/Qwen2.5-0.5B-Instruct"
        )
    if args.concurrency < 1 or args.stub_latency < 0:
        raise ConfigError("--concurrency must be at least 1 and --stub-latency at least 0")
    engine_args = shlex.split(args.engine_args)
    if args.engine == "stub":  # the stub's own flags: its service time and its capacity
        engine_args = [
            "--latency", str(args.stub_latency), "--slots", str(args.concurrency), *engine_args
        ]  # fmt: skip
    spec = ServeSpec(
        model=model,
        engine=args.engine,
        replicas=args.replicas,
        tensor_parallel=args.tensor_parallel,
        host=args.host,
        engine_args=tuple(engine_args),
        cpu=args.cpu,
        startup_timeout_s=args.startup_timeout,
    )
    try:
        started = init_ray(args.ray)
    except ImportError as exc:
        raise ConfigError(str(exc)) from None
    group: ServerGroup | None = None
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill`, `timeout`: as Ctrl-C
    # Ctrl-C must stop the servers even when this process inherited SIGINT ignored (a shell's
    # background job, nohup): a person or a script waits on it.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        print(f"Starting {args.engine} servers for {model} (Ctrl-C stops them)...", flush=True)
        group = start_servers(spec)
        write_roles(
            args.roles_out, group.model_config(args.concurrency), args.roles or DEFAULT_ROLES
        )
        print("\n".join(f"  replica {url}" for url in group.urls))
        print(f"Roles file for --roles: {args.roles_out}", flush=True)
        return _watch(group)
    except KeyboardInterrupt:
        print("Stopping the servers.", flush=True)
        return 0
    except RunError as exc:  # a server that did not come up: its log's tail says why
        print(f"clinic-env serve: {exc}", file=sys.stderr)
        return 1
    finally:
        if group is not None:
            group.stop()
        if started:
            import_ray().shutdown()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _watch(group: ServerGroup) -> int:
    """Wait for Ctrl-C; should a server die meanwhile, say which and stop the rest."""
    while True:
        time.sleep(HEALTH_CHECK_S)
        dead = group.dead()
        if dead:
            print(f"clinic-env serve: server(s) stopped: {', '.join(dead)}; stopping the rest.")
            return 1
