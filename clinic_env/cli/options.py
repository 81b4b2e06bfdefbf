"""What the commands that hold consultations share: who plays each role, the cache, and how
a run that failed throughout is reported."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from clinic_env.agents.base import DOCTORS, MEASUREMENTS, PATIENTS
from clinic_env.content import load_yaml_model
from clinic_env.errors import ConfigError
from clinic_env.llm.cache import CacheMode, ReplyCache
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.options import RoleValue
from clinic_env.roles import RoleSpec, model_config_of
from clinic_env.runner.runner import RunOutcome
from clinic_env.schema.base import Frozen


class RolesFile(Frozen):
    """A YAML file naming, per role, an agent name, a model id, an agent with factory
    parameters (``{agent: systematic, max_tests: 3}``) or a full model config."""

    patient: RoleValue | None = None
    measurement: RoleValue | None = None
    doctor: RoleValue | None = None
    judge: RoleValue | None = None


@dataclass(frozen=True)
class RoleChoice:
    patient: RoleSpec
    measurement: RoleSpec
    doctor: RoleSpec
    judge: RoleSpec | None


def add_role_options(
    parser: argparse.ArgumentParser, doctor_default: str | None = "systematic"
) -> None:
    roles = parser.add_argument_group(
        "roles (an agent name or a model id such as openai/gpt-4o-mini)"
    )
    roles.add_argument("--patient", default=None, help="patient (default: offline)")
    roles.add_argument("--measurement", default=None, help="measurement agent (default: offline)")
    if doctor_default is not None:
        roles.add_argument("--doctor", default=None, help=f"doctor (default: {doctor_default})")
    roles.add_argument("--judge", default=None, help="a model that also judges the diagnosis")
    roles.add_argument("--roles", type=Path, default=None, help="YAML file with a config per role")
    add_cache_options(parser)


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    cache = parser.add_argument_group("model reply cache (record and replay)")
    cache.add_argument("--cache", type=Path, default=None, help="sqlite file of model replies")
    cache.add_argument(
        "--cache-mode",
        choices=[m.value for m in CacheMode],
        default=CacheMode.READ_WRITE.value,
        help="replay answers only from the cache, with no server",
    )


def resolve_roles(args: argparse.Namespace, doctor_default: str = "systematic") -> RoleChoice:
    """Flags win over the roles file, which wins over the defaults; every role is checked."""
    file = load_yaml_model(args.roles, RolesFile, ConfigError) if args.roles else RolesFile()
    roles = RoleChoice(
        patient=args.patient or file.patient or "offline",
        measurement=args.measurement or file.measurement or "offline",
        doctor=getattr(args, "doctor", None) or file.doctor or doctor_default,
        judge=args.judge or file.judge,
    )
    model_config_of(roles.patient, PATIENTS)
    model_config_of(roles.measurement, MEASUREMENTS)
    model_config_of(roles.doctor, DOCTORS)
    if isinstance(roles.judge, str) and "/" not in roles.judge:
        raise ConfigError(
            f"--judge must be a model id such as openai/gpt-4o-mini, not {roles.judge!r}"
        )
    return roles


def make_client(args: argparse.Namespace) -> ModelClient:
    if args.cache is None:
        if args.cache_mode == CacheMode.REPLAY.value:
            raise ConfigError("--cache-mode replay needs --cache FILE")
        return default_client()
    return ModelClient(ReplyCache(args.cache, CacheMode(args.cache_mode)))


def report_common_failure(outcome: RunOutcome) -> int:
    """Every consultation run now failed the same way: say it in one line, exit non-zero."""
    error = str(outcome.common_failure)
    first, _, rest = error.partition("\n")
    lines = rest.count("\n") + 1
    more = f" (and {lines} more lines in results.jsonl)" if rest else ""
    print(
        f"clinic-env: failed: all {outcome.ran} consultations run failed with the same error "
        f"(fix it, then run again with --retry-failed): {first}{more}",
        file=sys.stderr,
    )
    return 1
