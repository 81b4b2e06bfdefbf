"""A transcript as text a person reads: one block per turn, optionally coloured for a terminal."""

from __future__ import annotations

from clinic_env.schema.transcript import Transcript

_COLOURS = {
    "doctor": "\033[1;34m",
    "answer": "\033[0;32m",
    "system": "\033[0;33m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"


def format_transcript(transcript: Transcript, colour: bool = True) -> str:
    """The consultation turn by turn, then its outcome and scores."""

    def paint(kind: str, text: str) -> str:
        return f"{_COLOURS[kind]}{text}{_RESET}" if colour else text

    lines = [
        paint("dim", f"== {transcript.id} (persona {transcript.persona}) =="),
        transcript.opening_observation,
        "",
    ]
    for turn in transcript.turns:
        lines.append(paint("doctor", f"[{turn.index}] Doctor: {turn.doctor_message}"))
        kind = "system" if turn.responder == "system" else "answer"
        if turn.observation:
            lines.append(paint(kind, turn.observation))
        if turn.error and turn.responder != "system":
            lines.append(paint("system", f"error: {turn.error}"))
        lines.append(paint("dim", f"    reward {turn.reward:+.3f}"))
    if transcript.outcome == "ongoing":
        left = transcript.max_turns - len(transcript.turns)
        lines.append(paint("dim", f"in progress: {left} turn{'s' * (left != 1)} left"))
    else:
        lines.append(paint("dim", f"outcome: {transcript.outcome}"))
    if transcript.differential:
        lines.append(paint("dim", "differential: " + "; ".join(transcript.differential)))
    scores = ", ".join(
        f"{c.name}={'error' if c.value is None else f'{c.value:g}'}"
        for c in transcript.score.components
    )
    if scores:
        lines.append(paint("dim", f"scores: {scores}"))
    if transcript.error:
        lines.append(paint("system", f"error: {transcript.error}"))
    return "\n".join(lines)
