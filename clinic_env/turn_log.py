"""The turn log of one consultation: each turn as recorded, flagged by the fidelity checks as
it happens, and the transcript built from them once.

Turns are internal records whose fields the session computed itself, so they are built
without validating them again (validation is for data that comes from outside: files, JSON,
callers). Each turn is checked for simulator and doctor faults when it is recorded, so the
end of a consultation costs no second pass over the turns.
"""

from __future__ import annotations

from clinic_env.evaluators.fidelity import FidelityChecker, validity_of
from clinic_env.schema.action import Action
from clinic_env.schema.base import trusted_fields
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import FidelityFlag, InquiryType, Responder, Turn, Validity

_CHECKER_CACHE_SIZE = 4096
_CHECKERS: dict[tuple[int, str], tuple[Case, FidelityChecker]] = {}


def fidelity_checker(case: Case, persona: Persona) -> FidelityChecker:
    """The checker for one case and persona, built once (episodes replay the same cases)."""
    key = (id(case), persona.id)
    cached = _CHECKERS.get(key)
    if cached is not None and cached[0] is case and cached[1].persona == persona:
        return cached[1]
    checker = FidelityChecker(case, persona)
    if len(_CHECKERS) >= _CHECKER_CACHE_SIZE:
        _CHECKERS.clear()
    _CHECKERS[key] = (case, checker)
    return checker


class TurnLog:
    """Every turn of one consultation, with what the fidelity checks found on each."""

    def __init__(self, case: Case, persona: Persona) -> None:
        self.checker = fidelity_checker(case, persona)
        self.turns: list[Turn] = []
        self.flags: list[tuple[FidelityFlag, ...]] = []

    def record(
        self,
        message: str,
        responder: Responder,
        action: Action | None,
        observation: str,
        *,
        index: int,
        error: str | None = None,
        facts_revealed: tuple[int, ...] = (),
        cost_usd: float = 0.0,
        turnaround_hours: float = 0.0,
        redacted: bool = False,
        reward: float = 0.0,
        reward_breakdown: dict[str, float],
        inquiry: InquiryType | None = None,
    ) -> Turn:
        """Keep one turn (the fields of :class:`Turn`), checked as it is recorded."""
        flags = self.checker.flags(
            message, responder, action, observation, redacted=redacted, told=facts_revealed
        )
        turn = trusted_fields(
            Turn,
            {
                "index": index,
                "doctor_message": message,
                "action": action,
                "responder": responder,
                "observation": observation,
                "error": error,
                "facts_revealed": facts_revealed,
                "cost_usd": cost_usd,
                "turnaround_hours": turnaround_hours,
                "redacted": redacted,
                "reward": reward,
                "reward_breakdown": reward_breakdown,
                "inquiry": inquiry,
                "fidelity": flags,
            },
        )
        self.turns.append(turn)
        self.flags.append(flags)
        return turn

    def validity(self, error: str | None) -> Validity:
        """The episode's label from its turns' flags and its error, if it failed."""
        return validity_of(self.flags, error)
