"""Per-role model settings: which model, where it is served, and how to sample from it.

A role (patient, measurement, doctor, judge) names a litellm model id and, for local servers,
an ``api_base``. The API key is never part of the config: ``api_key_env`` names the
environment variable that holds it, read at call time and never written anywhere. Credentials
inside a server URL (``http://user:pass@host``) are used for calls but left out of every JSON
dump (manifests, transcripts, pages).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from typing import Any, Literal

from pydantic import Field, ValidationError, field_serializer

from clinic_env.errors import ConfigError
from clinic_env.schema.base import Frozen, strip_url_credentials

OPENAI_COMPATIBLE = frozenset({"openai", "hosted_vllm", "llamacpp", "ollama_chat", "lm_studio"})
"""litellm provider prefixes whose servers speak the OpenAI chat completions protocol."""
LOCAL_PLACEHOLDER_KEY = "sk-no-key-needed"
"""Sent to local OpenAI-compatible servers that need no key, because the SDK insists on one."""
PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
"""The variable litellm reads for a hosted provider's key when no ``api_key_env`` is set."""


class ModelConfig(Frozen):
    """How one role calls its model."""

    model: str = Field(min_length=1, description="litellm model id, e.g. 'openai/gpt-4o-mini'")
    api_base: str | None = Field(default=None, description="e.g. 'http://127.0.0.1:8000/v1'")
    replicas: tuple[str, ...] = Field(
        default=(),
        description="base URLs of identical servers; each conversation stays on one of them",
    )
    api_key_env: str | None = Field(
        default=None, description="name of the environment variable holding the API key"
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=1)
    stop: tuple[str, ...] = Field(default=(), description="stop sequences, e.g. a newline")
    seed: int | None = Field(
        default=None, description="fixed seed; by default one per consultation"
    )
    timeout_s: float = Field(default=60.0, gt=0, description="per attempt")
    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0, description="first retry delay, doubled each time")
    backoff_max_s: float = Field(default=30.0, ge=0)
    concurrency: int = Field(default=64, ge=1, description="calls in flight to this endpoint")
    vision: bool = Field(default=False, description="the model accepts image content parts")
    tools: bool = Field(default=False, description="doctor: act through tool calls, not commands")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="sent as is")
    transport: Literal["auto", "litellm", "direct"] = Field(
        default="auto",
        description="auto: direct HTTP for OpenAI-compatible servers at api_base, else litellm",
    )

    @field_serializer("api_base", when_used="json")
    def _api_base_without_credentials(self, value: str | None) -> str | None:
        return None if value is None else strip_url_credentials(value)

    @field_serializer("replicas", when_used="json")
    def _replicas_without_credentials(self, value: tuple[str, ...]) -> list[str]:
        return [strip_url_credentials(url) for url in value]

    @property
    def uses_direct_transport(self) -> bool:
        """Local OpenAI-compatible servers are spoken to directly (see clinic_env.llm.direct)."""
        if self.transport != "auto":
            return self.transport == "direct"
        served = self.api_base is not None or bool(self.replicas)
        return served and self.model.split("/", 1)[0] in OPENAI_COMPATIBLE

    @property
    def endpoint(self) -> str:
        """What concurrency is limited by: the server, or the provider for hosted APIs."""
        return self.api_base or self.model.split("/", 1)[0]

    def route(self, affinity: str | None) -> str | None:
        """The server for one conversation: always the same replica for the same conversation,
        so a serving engine's prefix cache keeps paying off turn after turn."""
        if not self.replicas:
            return self.api_base
        if affinity is None:
            return self.replicas[0]
        digest = hashlib.blake2b(affinity.encode(), digest_size=8).digest()
        return self.replicas[int.from_bytes(digest, "big") % len(self.replicas)]

    def api_key(self) -> str | None:
        """The key from the environment, at call time; a placeholder for local servers."""
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ConfigError(
                    f"{self.model}: the environment variable {self.api_key_env} is not set"
                )
            return key
        return LOCAL_PLACEHOLDER_KEY if self.api_base or self.replicas else None


SYNONYMS = {"base_url": "api_base", "url": "api_base", "api_key": "api_key_env"}
"""Keys other tools use for a field, suggested when difflib finds no close spelling."""


def as_model_config(
    spec: str | ModelConfig | dict[str, Any], *, where: str = "model config"
) -> ModelConfig:
    """A role given as a model id, a dict (from YAML) or a ready config.

    A wrong key or value is a one-line :class:`ConfigError` naming it (and, for an unknown
    key, the field it probably meant), prefixed by ``where`` (a role, or a file and line).
    """
    if isinstance(spec, ModelConfig):
        return spec
    if isinstance(spec, str):
        spec = {"model": spec}
    try:
        return ModelConfig.model_validate(spec)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_errors(exc)}") from None


def describe_errors(error: ValidationError) -> str:
    """A validation error of a :class:`ModelConfig` as one line, a clause per problem."""
    clauses = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(the config)"
        if problem["type"] == "extra_forbidden":
            clauses.append(f"unknown key {field!r}{_suggestion(field)}")
        elif problem["type"] == "missing":
            clauses.append(f"{field!r} is required")
        else:
            clauses.append(f"{field}: {problem['msg']} (got {_shown(problem.get('input'))})")
    return "; ".join(clauses)


def _suggestion(key: str) -> str:
    fields = list(ModelConfig.model_fields)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6) or [SYNONYMS.get(key, "")]
    return f" (did you mean {close[0]!r}?)" if close[0] else f" (known: {', '.join(fields)})"


def _shown(value: object) -> str:
    """A value for an error line: short, and never a credential in a URL."""
    text = strip_url_credentials(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."
