"""What the doctor reads around each answer: the opening, the turn notice, the closing line.

Pure functions of the protocol's texts (``agents/prompts/protocol.yaml``) and the turn state,
kept beside the texts they fill in so the session only decides *which* one a turn gets.
"""

from __future__ import annotations

from collections.abc import Mapping

from clinic_env.protocol.texts import ProtocolTexts
from clinic_env.schema.transcript import Outcome


def opening_text(
    texts: ProtocolTexts,
    *,
    brief: str,
    speaker: str,
    statement: str,
    max_turns: int,
    options: Mapping[str, str] | None,
    tools: bool = False,
) -> str:
    """The brief, the patient's first words, the commands (or, for a doctor acting through
    tools, how to use them), and the options when shown."""
    template = texts.opening_tools if tools else texts.opening
    text = template.format(
        doctor_brief=brief, speaker=speaker, opening_statement=statement, max_turns=max_turns
    )
    if options:
        listing = "\n".join(f"{letter}. {option}" for letter, option in sorted(options.items()))
        text += "\n\n" + texts.options.format(options=listing)
    return text


def with_turn_notice(
    texts: ProtocolTexts, observation: str, turns_left: int, tools: bool = False
) -> str:
    """The answer and how many turns remain after it (the last one must be a diagnosis)."""
    if turns_left == 1:
        return f"{observation}\n{texts.last_turn_tools if tools else texts.last_turn}"
    return f"{observation}\n{texts.turns_left.format(turns_left=turns_left)}"


def with_closing(texts: ProtocolTexts, observation: str, outcome: Outcome, max_turns: int) -> str:
    """The answer and the line that says how the consultation ended."""
    if outcome == "diagnosed":
        closing = texts.diagnosis_recorded
    elif outcome == "ended":
        closing = texts.ended
    else:
        closing = texts.out_of_turns.format(max_turns=max_turns)
    return f"{observation}\n{closing}" if observation else closing
