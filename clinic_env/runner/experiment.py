"""Experiment configs: the grid of a batch evaluation, validated, expanded deterministically.

An experiment crosses datasets (with case filters) x personas x bias sets x doctors x seeds
x repeats. Its YAML is validated with unknown keys rejected, and its grid always expands in
the same order with the same cell ids, so a run can be resumed and compared cell by cell.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from clinic_env.agents.base import DOCTORS, MEASUREMENTS, PATIENTS
from clinic_env.agents.personas import load_bias, load_persona, personas
from clinic_env.content import content_path, load_yaml_model
from clinic_env.datasets import load_cases
from clinic_env.errors import ConfigError
from clinic_env.evaluators.registry import EVALUATORS
from clinic_env.evaluators.rewards import load_reward_spec
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.llm.config import as_model_config
from clinic_env.llm.preflight import check_model, needs_servers
from clinic_env.options import RoleValue
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS
from clinic_env.registry import Registry
from clinic_env.roles import model_config_of
from clinic_env.runner.grid import Grid
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Case

RUN_SETTINGS = frozenset(
    {
        "api_base",
        "replicas",
        "api_key_env",
        "timeout_s",
        "max_retries",
        "backoff_s",
        "backoff_max_s",
        "concurrency",
    }
)
"""Model config fields that say how a model is reached, not what it answers."""


class CaseFilter(Frozen):
    """Which cases of a dataset take part; all of them by default."""

    ids: tuple[str, ...] | None = None
    specialties: tuple[str, ...] | None = None
    limit: int | None = Field(default=None, ge=1)

    def apply(self, cases: tuple[Case, ...], dataset: str) -> tuple[Case, ...]:
        chosen = cases
        if self.ids is not None:
            known = {case.id for case in cases}
            missing = [case_id for case_id in self.ids if case_id not in known]
            if missing:
                raise ConfigError(f"dataset {dataset!r} has no case(s) {', '.join(missing)}")
            wanted = set(self.ids)
            chosen = tuple(case for case in chosen if case.id in wanted)
        if self.specialties is not None:
            wanted = {s.lower() for s in self.specialties}
            chosen = tuple(case for case in chosen if case.specialty.lower() in wanted)
        return chosen[: self.limit] if self.limit else chosen


class DatasetEntry(Frozen):
    name: str = Field(min_length=1, description="a registered dataset or a path")
    cases: CaseFilter = CaseFilter()


class Roles(Frozen):
    """Who plays each role; several doctors are compared cell by cell under their labels."""

    patient: RoleValue = "offline"
    measurement: RoleValue = "offline"
    doctors: dict[str, RoleValue] = Field(default_factory=lambda: {"systematic": "systematic"})  # type: ignore[arg-type]
    judge: RoleValue | None = None

    @field_validator("doctors")
    @classmethod
    def _some_doctor(cls, doctors: dict[str, RoleValue]) -> dict[str, RoleValue]:
        if not doctors:
            raise ValueError("name at least one doctor")
        for label in doctors:
            if "/" in label or not label:
                raise ValueError(f"doctor label {label!r} must be a plain name without '/'")
        return doctors


class RayOptions(Frozen):
    address: str | None = Field(default=None, description="an existing cluster; none starts one")
    workers: int = Field(default=2, ge=1)


class Experiment(Frozen):
    name: str = Field(min_length=1)
    description: str | None = None
    datasets: tuple[DatasetEntry, ...] = Field(min_length=1)
    personas: tuple[str, ...] = ("plain",)
    bias_sets: tuple[tuple[str, ...], ...] = Field(
        default=((),), description="each a condition; the empty set is the control"
    )
    roles: Roles = Roles()
    reward: str = "default"
    evaluators: tuple[str, ...] | None = Field(
        default=None, description="evaluator names; none means the offline defaults"
    )
    show_options: bool = Field(default=False, description="MCQ mode: show options to doctors")
    seeds: tuple[int, ...] = Field(default=(0,), min_length=1)
    repeats: int = Field(default=1, ge=1)
    max_turns: int = Field(default=DEFAULT_MAX_TURNS, ge=1)
    concurrency: int = Field(default=64, ge=1)
    ray: RayOptions | None = None

    @field_validator("datasets", mode="before")
    @classmethod
    def _names_are_entries(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    def config_hash(self) -> str:
        """What the results depend on. How the run is spread (concurrency, Ray) and how its
        models are reached (server addresses, key variables, timeouts, retries, backoff,
        per-server concurrency: :data:`RUN_SETTINGS`) are left out, so a run resumes with
        more workers, more retries or after its server moved; the manifest records them."""
        return _digest(hashed_view(self.model_dump(mode="json")))

    def legacy_config_hash(self) -> str:
        """The hash of run folders made before :data:`RUN_SETTINGS` were left out of it."""
        return _digest(self.model_dump(mode="json", exclude={"concurrency", "ray"}))

    def run_settings(self) -> dict[str, Any]:
        """What the config hash leaves out, for the manifest."""
        roles = self.model_dump(mode="json")["roles"]
        models = {
            label: {name: spec[name] for name in sorted(RUN_SETTINGS) if name in spec}
            for label, spec in _labelled_role_dumps(roles)
        }
        return {"concurrency": self.concurrency, "ray": _dump(self.ray), "models": models}

    def check(self, client: ModelClient | None = None) -> None:
        """Fail before running anything when a name in the config does not resolve, a model's
        key is not set or its server URL is not valid or (unless ``client`` replays a record)
        does not answer: one error now rather than a failed consultation per cell."""
        persona_ids = list(personas()) if self.personas == ("all",) else self.personas
        for persona in persona_ids:
            load_persona(persona)
        for bias_set in self.bias_sets:
            for bias in bias_set:
                load_bias(bias)
        roles: list[tuple[str, RoleValue, Registry[Any, Any]]] = [
            ("patient", self.roles.patient, PATIENTS)
        ]
        roles.append(("measurement", self.roles.measurement, MEASUREMENTS))
        roles += [(f"doctor {label}", spec, DOCTORS) for label, spec in self.roles.doctors.items()]
        reachable = needs_servers(client or default_client())
        for role, spec, registry in roles:
            if (config := model_config_of(spec, registry)) is not None:
                check_model(config, role, reachable=reachable)
        if self.roles.judge is not None:
            check_model(as_model_config(self.roles.judge), "judge", reachable=reachable)
        load_reward_spec(self.reward)
        for name in self.evaluators or ():
            EVALUATORS.get(name)

    def jobs(self) -> Grid:
        """The grid: dataset, case, persona, bias set, doctor, seed, repeat, in that order.

        It is lazy (see :class:`~clinic_env.runner.grid.Grid`): its size, any job and every
        cell id come without building the others, so a grid of any size costs its cases.

        Raises:
            ConfigError: the grid would name a consultation twice (a value listed twice).
        """
        persona_ids = list(personas()) if self.personas == ("all",) else self.personas
        cases = tuple(
            (entry.name, case)
            for entry in self.datasets
            for case in entry.cases.apply(load_cases(entry.name), entry.name)
        )
        return Grid(
            cases,
            tuple(persona_ids),
            tuple(tuple(biases) for biases in self.bias_sets),
            tuple(self.roles.doctors),
            self.seeds,
            self.repeats,
        )


def hashed_view(dump: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a dumped experiment its config hash covers (see
    :meth:`Experiment.config_hash`): the same dump with what says how it runs left out."""
    view = copy.deepcopy({k: v for k, v in dump.items() if k not in ("concurrency", "ray")})
    roles = view.get("roles")
    if isinstance(roles, dict) and isinstance(roles.get("doctors"), dict):
        for _, spec in _labelled_role_dumps(roles):
            for name in RUN_SETTINGS:
                spec.pop(name, None)
    return view


EXTENDING_FIELDS = frozenset({"datasets", "personas", "bias_sets", "seeds", "repeats"})
"""The fields that only choose cells: adding to them adds cells and changes none run already."""
LABEL_FIELDS = frozenset({"name", "description"})
"""The fields that name an experiment without changing any result."""


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One difference between two experiments, at a dotted path such as ``roles.judge``."""

    path: str
    before: Any
    after: Any

    @property
    def field(self) -> str:
        """The experiment's top-level field the change is in."""
        return self.path.split(".", 1)[0].split("[", 1)[0]

    def __str__(self) -> str:
        if isinstance(self.before, list) and isinstance(self.after, list):
            added = [item for item in self.after if item not in self.before]
            removed = [item for item in self.before if item not in self.after]
            parts = [f"added {_listed(added)}"] if added else []
            parts += [f"removed {_listed(removed)}"] if removed else []
            return f"{self.path}: {', '.join(parts) or 'reordered'}"
        return f"{self.path}: {_shown(self.before)} -> {_shown(self.after)}"


_ABSENT = object()


def _shown(value: Any) -> str:
    return "(not set)" if value is _ABSENT else json.dumps(value)


def _listed(items: list[Any]) -> str:
    return ", ".join(_shown(item) for item in items)


def config_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ConfigChange]:
    """Every difference between two dumped experiments that their config hashes see, each at
    the deepest path where it shows (lists of one length are compared item by item)."""
    changes: list[ConfigChange] = []

    def walk(path: str, old: Any, new: Any) -> None:
        if old == new:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            for key in dict.fromkeys([*old, *new]):
                where = f"{path}.{key}" if path else str(key)
                walk(where, old.get(key, _ABSENT), new.get(key, _ABSENT))
        elif (
            isinstance(old, list)
            and isinstance(new, list)
            and len(old) == len(new)
            and any(isinstance(item, dict) for item in old)
        ):
            for index, (first, second) in enumerate(zip(old, new, strict=True)):
                walk(f"{path}[{index}]", first, second)
        else:
            changes.append(ConfigChange(path, old, new))

    walk("", hashed_view(before), hashed_view(after))
    return changes


def _digest(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _dump(model: Frozen | None) -> Any:
    return None if model is None else model.model_dump(mode="json")


def _labelled_role_dumps(roles: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The model configs among dumped roles, labelled ``patient``, ``doctors.x``, ..."""
    found = [(role, spec) for role, spec in roles.items() if role != "doctors"]
    found += [(f"doctors.{label}", spec) for label, spec in roles["doctors"].items()]
    return [(label, spec) for label, spec in found if isinstance(spec, dict)]


def load_experiment(path: Path) -> Experiment:
    return load_yaml_model(path, Experiment, ConfigError)


def default_experiment_path() -> Path:
    """The bundled experiment that ``clinic-env eval`` runs when given none."""
    return content_path("evaluators", "experiments", "starter.yaml")
