"""The options of one consultation, in one frozen model every face passes to the engine.

``ClinicEnv``, the parallel and batched envs, the batch runner, the trainer adapters, the CLI
and the web page all take their consultation options as :class:`SessionOptions` (or as its
fields by keyword), so an option is added, documented and checked in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from clinic_env.llm.config import ModelConfig
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS
from clinic_env.schema.base import Frozen

RoleSpec = str | ModelConfig | Mapping[str, Any]
"""A role given as a registered agent name ("offline"), a model id, a ModelConfig or its dict,
or a registered agent with factory parameters (``{"agent": "systematic", "max_tests": 3}``)."""

AGENT_KEY = "agent"
"""The key of a role given as a registered agent with factory parameters; a model config's
dict has ``model`` instead, and one with both is refused, so the two are never confused."""


def _names_an_agent(value: dict[str, Any]) -> dict[str, Any]:
    if AGENT_KEY not in value:
        raise ValueError(f"not an agent with parameters (no {AGENT_KEY!r} key)")
    return value


RoleValue = Annotated[
    str | Annotated[dict[str, Any], AfterValidator(_names_an_agent)] | ModelConfig,
    Field(union_mode="left_to_right"),
]
"""A role as a config file gives it: an agent name or model id, an agent with factory
parameters (a mapping with an ``agent`` key, checked against the factory when the config is
checked), or a model config (a mapping with a ``model`` key, validated here)."""


class SessionOptions(Frozen):
    """How one consultation is set up; every field has the default a bare env uses.

    Args:
        persona: the patient's persona id (None: the plain persona).
        biases: bias ids, each optionally for one role ("doctor:recency"); a bare id goes to
            every role it applies to.
        patient, measurement: a registered agent name ("offline") or a model (an id such as
            "openai/gpt-4o-mini", a ModelConfig, or its dict).
        judge: optionally a model that also judges the diagnosis (scores judge_top1/3).
        evaluators: evaluator names to score with; None runs the offline defaults.
        reward: a reward spec name from ``evaluators/rewards/`` or a path to a spec file.
        max_turns: doctor turns; the last one must be a diagnosis.
        show_options: show MCQ options to the doctor when a case has them.
        images_at_start: show the case's images with the opening.
        synthesise_results: let a model measurement agent write a result the case lacks,
            marked as synthesised.
        unrecorded_tests: what the offline room says of a known test the record does not hold:
            "unavailable" (one uniform reply) or "normal" (AgentClinic's convention).
        interface: how the doctor acts: "text" (typed commands, explained in the opening) or
            "tools" (a trainer's tool calls: the opening and last-turn notice say so instead).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    persona: str | None = None
    biases: tuple[str, ...] = ()
    patient: str | ModelConfig | dict[str, Any] = "offline"
    measurement: str | ModelConfig | dict[str, Any] = "offline"
    judge: str | ModelConfig | dict[str, Any] | None = None
    evaluators: tuple[str, ...] | None = None
    reward: str = "default"
    max_turns: int = Field(default=DEFAULT_MAX_TURNS, ge=1)
    show_options: bool = False
    images_at_start: bool = False
    synthesise_results: bool = False
    unrecorded_tests: Literal["unavailable", "normal"] = "unavailable"
    interface: Literal["text", "tools"] = "text"

    @field_validator("patient", "measurement", "judge", mode="before")
    @classmethod
    def _plain_mapping(cls, value: Any) -> Any:
        """A mapping from YAML or a caller is kept as a plain dict (a config is checked later)."""
        return dict(value) if isinstance(value, Mapping) else value

    @classmethod
    def of(cls, options: SessionOptions | None = None, **fields: Any) -> SessionOptions:
        """``options`` with ``fields`` replacing its values (validated), or new options."""
        if options is None:
            return cls(**fields)
        if not fields:
            return options
        return cls(**{**options.model_dump(exclude_unset=True), **fields})
