"""Hand-written transcripts for evaluator tests: each turn as the session would record it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from clinic_env.agents.personas import load_persona
from clinic_env.evaluators.registry import EvaluationContext, Evaluator, evaluate
from clinic_env.protocol.parsing import ParseError, parse_action
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Score, ScoreComponent, Transcript, Turn

OPENING = (
    "A 40-year-old man comes in with a painful knee.\n"
    'Patient: "My knee has been killing me since yesterday."'
)


def turn(
    index: int,
    message: str,
    observation: str = "",
    *,
    facts: tuple[int, ...] = (),
    cost: float = 0.0,
    hours: float = 0.0,
    redacted: bool = False,
    error: str | None = None,
) -> Turn:
    """A turn whose action and responder are parsed from ``message`` as the protocol would."""
    action = parse_action(message)
    if isinstance(action, ParseError) or error is not None:
        return Turn(
            index=index,
            doctor_message=message,
            action=None,
            responder="system",
            observation=observation,
            error=error or getattr(action, "message", "not understood"),
        )
    responder = {"ask": "patient", "diagnose": "system", "end": "system"}.get(
        action.kind.value, "measurement"
    )
    return Turn(
        index=index,
        doctor_message=message,
        action=action,
        responder=responder,
        observation=observation,
        facts_revealed=facts,
        cost_usd=cost,
        turnaround_hours=hours,
        redacted=redacted,
    )


def transcript(
    case: Case,
    turns: Sequence[Turn],
    *,
    differential: Sequence[str] = (),
    persona: str = "plain",
    seed: int = 0,
    error: str | None = None,
    bias_targets: dict[str, str] | None = None,
    options_shown: bool | None = None,
) -> Transcript:
    """A transcript of ``turns``; options count as shown when the case has them, unless
    ``options_shown`` says otherwise."""
    return Transcript(
        id=f"tests/{case.id}/{persona}/{seed}",
        case_id=case.id,
        dataset="tests",
        seed=seed,
        persona=persona,
        agents={},
        max_turns=20,
        options_shown=bool(case.options) if options_shown is None else options_shown,
        opening_observation=OPENING,
        turns=tuple(turns),
        differential=tuple(differential),
        outcome="error" if error else ("diagnosed" if differential else "ended"),
        error=error,
        bias_targets=bias_targets or {},
    )


def score(case: Case, record: Transcript, *evaluators: Evaluator, patient=None) -> Score:
    persona = load_persona(record.persona)
    context = EvaluationContext(case, record, persona, patient=patient)
    return asyncio.run(evaluate(context, evaluators))


def score_of(values: dict[str, float | None]) -> Score:
    """A score with these components; a None value is recorded as its evaluator failing."""
    return Score(
        components=tuple(
            ScoreComponent(
                name=name,
                value=value,
                evaluator="test",
                error=None if value is not None else "ValueError: broken",
            )
            for name, value in values.items()
        )
    )
