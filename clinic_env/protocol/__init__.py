"""The consultation protocol: action parsing and the state machine, with no I/O."""

from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS, Consultation, Limits, Phase, Request
from clinic_env.protocol.parsing import ParseError, parse_action, split_differential

__all__ = [
    "DEFAULT_MAX_TURNS",
    "Consultation",
    "Limits",
    "ParseError",
    "Phase",
    "Request",
    "parse_action",
    "split_differential",
]
