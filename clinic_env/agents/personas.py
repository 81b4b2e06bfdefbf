"""Looking up personas and biases by id from ``agents/personas/`` and ``agents/biases/``."""

from __future__ import annotations

import functools
from typing import TypeVar

from clinic_env.content import content_path, load_yaml_folder
from clinic_env.errors import ContentError, UnknownNameError
from clinic_env.language.lexicon import lexicon
from clinic_env.schema.case import FACT_CATEGORIES
from clinic_env.schema.persona import Bias, BiasRole, Persona

DEFAULT_PERSONA = "plain"


ItemT = TypeVar("ItemT", Persona, Bias)


def _by_id(folder: str, model: type[ItemT], kind: str) -> dict[str, ItemT]:
    """Every file of ``agents/<folder>/`` by id, in file-name order; ids match file names."""
    found: dict[str, ItemT] = {}
    for path, item in load_yaml_folder(content_path("agents", folder), model):
        if item.id != path.stem:
            raise ContentError(f"{path}: {kind} id {item.id!r} must match the file name")
        found[item.id] = item
    return found


@functools.cache
def personas() -> dict[str, Persona]:
    """Every bundled persona by id, in file-name order."""
    return _by_id("personas", Persona, "persona")


def load_persona(persona_id: str | None) -> Persona:
    """A persona by id; ``None`` means the neutral default."""
    known = personas()
    key = DEFAULT_PERSONA if persona_id is None else persona_id
    if key not in known:
        raise UnknownNameError(f"unknown persona {key!r} (known: {', '.join(known)})")
    return known[key]


@functools.cache
def biases() -> dict[str, Bias]:
    """Every bundled bias by id, in file-name order, each file's variants after it."""
    found: dict[str, Bias] = {}
    for bias_id, bias in _by_id("biases", Bias, "bias").items():
        _check_behaviour(bias)
        found[bias_id] = bias
        for variant_id in bias.variants:
            if (
                variant_id in found
                or content_path("agents", "biases", f"{variant_id}.yaml").exists()
            ):
                raise ContentError(f"bias {bias_id!r}: variant id {variant_id!r} is taken")
            found[variant_id] = bias.variant(variant_id)
    return found


def _check_behaviour(bias: Bias) -> None:
    """The topics and rapport kinds a bias's offline behaviour names exist in the lexicon."""
    words = lexicon()
    topics = set(FACT_CATEGORIES) | words.sensitive_topics
    unknown = sorted(set(bias.offline.withholds) - topics)
    unknown += sorted(set(bias.offline.rapport_cues) - set(words.data.rapport))
    if unknown:
        path = content_path("agents", "biases", f"{bias.id}.yaml")
        raise ContentError(
            f"{path} (field offline): unknown topics or rapport kinds: {', '.join(unknown)}"
        )


def parse_bias(spec: str) -> tuple[Bias, tuple[BiasRole, ...]]:
    """A bias and the roles it is given to: ``"doctor:recency"`` gives it to the doctor alone,
    a bare ``"recency"`` to every role it applies to."""
    role, _, bias_id = spec.rpartition(":")
    bias = _known_bias(bias_id)
    if not role:
        return bias, bias.applies_to
    if role not in bias.applies_to:
        raise UnknownNameError(
            f"bias {bias_id!r} does not apply to {role!r} (it applies to "
            f"{', '.join(bias.applies_to)})"
        )
    return bias, (role,)  # type: ignore[return-value]  # checked against applies_to above


def load_bias(spec: str) -> Bias:
    """A bias by id, optionally qualified by the role it is given to (``"doctor:recency"``)."""
    return parse_bias(spec)[0]


def _known_bias(bias_id: str) -> Bias:
    known = biases()
    if bias_id not in known:
        listing = ", ".join(known) or "none are installed yet"
        raise UnknownNameError(f"unknown bias {bias_id!r} (known: {listing})")
    return known[bias_id]
