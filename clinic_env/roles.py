"""Turning role specs into agents: a registered name (offline, systematic, ...) or a model.

A role is given as a registered agent name, as a registered agent with factory parameters
(``{"agent": "systematic", "max_tests": 3}`` from YAML), as a litellm model id such as
``"openai/gpt-4o-mini"``, or as a :class:`~clinic_env.llm.config.ModelConfig` (or the
equivalent dict from YAML, which has a ``model`` key instead of ``agent``). Each role is
chosen independently of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clinic_env.agents.base import (
    DOCTORS,
    MEASUREMENTS,
    PATIENTS,
    DoctorAgent,
    MeasurementAgent,
    PatientAgent,
)
from clinic_env.agents.biasing import BiasUse, TakesBiases
from clinic_env.agents.llm_doctor import LLMDoctor
from clinic_env.agents.llm_measurement import LLMMeasurement
from clinic_env.agents.llm_patient import LLMPatient
from clinic_env.agents.model_role import CallLog, ModelRole
from clinic_env.errors import ConfigError, UnknownNameError
from clinic_env.evaluators.llm_judge import LLMJudge
from clinic_env.language.identity import IdentityCache
from clinic_env.language.leak import case_guard, withheld_case
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.llm.config import ModelConfig, as_model_config
from clinic_env.options import AGENT_KEY, RoleSpec, SessionOptions
from clinic_env.protocol.texts import protocol_texts
from clinic_env.registry import Entry, Registry
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Persona
from clinic_env.seeding import agent_rng


@dataclass(frozen=True, slots=True)
class AgentFactory:
    """An agent a face brings for one role (a person at a keyboard, a policy in training),
    made by the session from that role's view, in which the answer is already withheld.

    ``make`` takes what the role's registered factories take: ``(view, persona, rng)`` for a
    patient, ``(view, rng)`` for a measurement agent. ``label`` names the role's agent in the
    transcript.
    """

    label: str
    make: Callable[..., Any]


def role_label(spec: RoleSpec | AgentFactory) -> str:
    """How a role is named in transcripts: the agent name (with its factory parameters,
    ``systematic(max_tests=3)``) or the model id."""
    if isinstance(spec, AgentFactory):
        return spec.label
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping) and AGENT_KEY in spec:
        params = ",".join(f"{k}={v}" for k, v in sorted(spec.items()) if k != AGENT_KEY)
        return f"{spec[AGENT_KEY]}({params})" if params else str(spec[AGENT_KEY])
    return _as_config(spec).model


def registered_agent(
    spec: RoleSpec, registry: Registry[Any, Any]
) -> tuple[Entry[Any, Any], dict[str, Any]] | None:
    """The registration a spec names, with its checked factory parameters; None for a model.

    Raises:
        UnknownNameError: a name that is neither registered nor a model id.
        ConfigError: one line naming a parameter the factory does not take, lacks or refuses.
    """
    if isinstance(spec, str):
        if spec in registry:
            entry = registry.entry(spec)
            return entry, entry.bind({})
        if "/" not in spec:
            raise UnknownNameError(
                f"unknown {registry.kind} {spec!r} (known: {', '.join(registry.names())}; "
                "or give a model id such as 'openai/gpt-4o-mini')"
            )
        return None
    if not isinstance(spec, Mapping) or AGENT_KEY not in spec:
        return None
    name = spec[AGENT_KEY]
    if not isinstance(name, str):
        raise ConfigError(f"{registry.kind}: {AGENT_KEY!r} must be a registered name, not {name!r}")
    params = {str(key): value for key, value in spec.items() if key != AGENT_KEY}
    if "model" in params:
        raise ConfigError(
            f"{registry.kind} {name!r}: give {AGENT_KEY!r} (a registered agent) or 'model' "
            "(a model config), not both"
        )
    entry = registry.entry(name)
    return entry, entry.bind(params)


def model_config_of(spec: RoleSpec, registry: Registry[Any, Any]) -> ModelConfig | None:
    """The model config a spec asks for, or None when it names a registered agent (whose
    factory parameters are checked here, so a bad one fails when a face is built)."""
    if registered_agent(spec, registry) is not None:
        return None
    return _as_config(spec)


_patient_views = IdentityCache(Case.patient_view, 4096)
_measurement_views = IdentityCache(Case.measurement_view, 4096)
"""The roles' views of each withheld case, made once: the same (immutable) view on every
episode, so what agents build from a view is found by its identity."""


@dataclass
class RoleContext:
    """What the agents of one consultation share: the client, the call log, the seed."""

    case: Case
    seed: int
    client: ModelClient = field(default_factory=default_client)
    log: CallLog = field(default_factory=CallLog)

    def __post_init__(self) -> None:
        self.views = withheld_case(self.case, case_guard(self.case, protocol_texts().redacted))
        """The case every role's view is taken from: the answer already withheld."""

    def model(self, role: str, config: ModelConfig) -> ModelRole:
        """A model role whose sampling seed is fixed by the consultation's seed."""
        seed = agent_rng(self.seed, self.case.id, f"{role}-model").getrandbits(31)
        return ModelRole(role, config, self.client, self.log, seed)

    def patient(
        self, spec: RoleSpec | AgentFactory, persona: Persona, biases: Sequence[BiasUse] = ()
    ) -> PatientAgent:
        """``biases`` are the patient's: a model gets their texts, a registered or given
        patient acts them out (one that cannot is an error, never a silently unbiased run)."""
        view = _patient_views(self.views)
        rng = agent_rng(self.seed, self.case.id, "patient")
        if isinstance(spec, AgentFactory):
            return _with_biases(spec.make(view, persona, rng), spec.label, biases)
        found = registered_agent(spec, PATIENTS)
        if found is not None:
            entry, params = found
            return _with_biases(entry.factory(view, persona, rng, **params), entry.name, biases)
        texts = [use.text for use in biases]
        config = _as_config(spec)
        return LLMPatient(self.model("patient", config), view, persona, texts)

    def measurement(
        self, spec: RoleSpec | AgentFactory, options: SessionOptions | None = None
    ) -> MeasurementAgent:
        options = options or SessionOptions()
        view = _measurement_views(self.views)
        rng = agent_rng(self.seed, self.case.id, "measurement")
        if isinstance(spec, AgentFactory):
            return spec.make(view, rng)  # type: ignore[no-any-return]
        unrecorded = options.unrecorded_tests
        found = registered_agent(spec, MEASUREMENTS)
        if found is not None:
            entry, params = found
            return entry.factory(view, rng, unrecorded=unrecorded, **params)
        config = _as_config(spec)
        model = self.model("measurement", config)
        return LLMMeasurement(model, view, options.synthesise_results, unrecorded=unrecorded)

    def doctor(
        self,
        spec: RoleSpec,
        max_turns: int,
        show_options: bool,
        biases: Sequence[BiasUse] = (),
    ) -> DoctorAgent:
        """``biases`` are the doctor's, of both placements: a scripted doctor that can act them
        out does; a model gets the instruction-placed ones in its system prompt (the ones
        placed in the case are in its opening already); a scripted doctor that cannot act
        out an instruction-placed bias is an error, never a silently unbiased run."""
        instructed = [use for use in biases if use.bias.placement == "instructions"]
        found = registered_agent(spec, DOCTORS)
        if found is not None:
            entry, params = found
            case = self.case if entry.meta.privileged else None
            rng = agent_rng(self.seed, self.case.id, "doctor")
            view = self.views.doctor_view(show_options)
            agent = entry.factory(view, rng, case, **params)
            if isinstance(agent, TakesBiases):
                if biases:
                    agent.take_biases(biases)
            elif instructed:
                raise ConfigError(f"doctor agent {entry.name!r} cannot take biases")
            return agent
        texts = [use.text for use in instructed]
        config = _as_config(spec)
        return LLMDoctor(self.model("doctor", config), max_turns, texts)

    def judge(self, spec: RoleSpec | None) -> LLMJudge | None:
        if spec is None:
            return None
        return LLMJudge(self.model("judge", _as_config(spec)))


def _as_config(spec: RoleSpec) -> ModelConfig:
    return as_model_config(dict(spec) if isinstance(spec, Mapping) else spec)


def _with_biases(agent: PatientAgent, name: str, biases: Sequence[BiasUse]) -> PatientAgent:
    """The patient, told its biases; one that cannot act them out is an error."""
    if biases:
        if not isinstance(agent, TakesBiases):
            raise ConfigError(f"patient agent {name!r} cannot take biases")
        agent.take_biases(biases)
    return agent
