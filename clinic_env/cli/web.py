"""``clinic-env web``: serve the local page to play consultations and browse runs.

Bound to 127.0.0.1 unless ``--host`` says otherwise: the page lets anyone who reaches it
start consultations (with the configured models, at your cost) and read every run, so
binding elsewhere prints a warning.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.agents.base import DOCTORS
from clinic_env.cli.options import RoleChoice, add_role_options, make_client, resolve_roles
from clinic_env.errors import ConfigError
from clinic_env.roles import RoleSpec, role_label

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
"""The names a loopback-bound page answers to (a DNS-rebinding page sends another)."""
SCRIPTED_DOCTORS_NOT_OFFERED = {"replay", "human", "planted"}  # planted: a test doctor
"""Doctors the page cannot offer: one needs a transcript, the other is the person."""


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("web", help="a local page: play consultations, browse runs")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder of run folders")
    parser.add_argument(
        "--play-out",
        type=Path,
        default=None,
        help="where played consultations are saved (default: RUNS/web-play)",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="PATH",
        help="a local case file or folder to offer as well (repeatable); besides these and "
        "files under --runs, the page opens no path",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8765)
    add_role_options(parser, doctor_default="systematic")
    parser.set_defaults(handler=serve_page)


def offered(roles: RoleChoice) -> dict[str, dict[str, RoleSpec]]:
    """The agents the page offers per role: the offline ones and any configured model."""
    scripted = [
        name
        for name in DOCTORS.names()
        if not DOCTORS.entry(name).meta.privileged and name not in SCRIPTED_DOCTORS_NOT_OFFERED
    ]
    choices: dict[str, dict[str, RoleSpec]] = {
        "patient": {"offline": "offline"},
        "measurement": {"offline": "offline"},
        "doctor": {name: name for name in scripted},
    }
    doctor = roles.doctor
    if isinstance(doctor, str) and doctor in DOCTORS and doctor not in choices["doctor"]:
        raise ConfigError(
            f"--doctor {doctor}: the page cannot offer it "
            f"(offered: {', '.join(choices['doctor'])}, or a model id)"
        )
    for role, spec in (
        ("patient", roles.patient),
        ("measurement", roles.measurement),
        ("doctor", roles.doctor),
    ):
        choices[role].setdefault(role_label(spec), spec)
    return choices


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_page(args: argparse.Namespace) -> int:
    try:
        import uvicorn  # noqa: PLC0415 - the web extra is optional

        from clinic_env.web.app import WebSettings, create_app  # noqa: PLC0415
    except ImportError:
        raise ConfigError('clinic-env web needs its extra: pip install "clinic-env[web]"') from None
    roles = resolve_roles(args)
    settings = WebSettings(
        runs=args.runs,
        play_out=args.play_out or args.runs / "web-play",
        choices=offered(roles),
        datasets=tuple(args.dataset),
        client=make_client(args),
        allowed_hosts=LOOPBACK_NAMES if is_loopback(args.host) else (),
    )
    if not is_loopback(args.host):
        print(
            f"warning: serving on {args.host}: anyone who can reach this address can read "
            "every run and start consultations with the configured models",
            file=sys.stderr,
        )
    print(f"clinic-env web: http://{args.host}:{args.port}/ (runs from {args.runs}; Ctrl-C stops)")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
