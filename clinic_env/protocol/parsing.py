"""Turning a doctor's message into an :class:`Action`.

Free text accepts the AgentClinic-style commands (``REQUEST TEST: x``, ``REQUEST EXAM: x``,
``REQUEST IMAGES``, ``DIAGNOSIS READY: x``, ``END``) anywhere in the message, in any case,
with markdown or stray punctuation around them, and a ranked list after the diagnosis
command. A message that starts with ``{`` is read as structured JSON. Anything else is a
question for the patient. A message that cannot be understood yields a :class:`ParseError`
whose text tells the doctor what went wrong; it never raises.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from clinic_env.schema.action import Action, ActionKind

MAX_DIFFERENTIAL = 10

_SEP = r"[\s_\-]*"
_COLON = r"\s*[:\-–—=]*\s*"
_DIAGNOSIS = re.compile(rf"(?:final{_SEP})?diagnosis{_SEP}(?:is{_SEP})?ready{_COLON}", re.I)
_TEST = re.compile(rf"request{_SEP}(?:lab{_SEP}|laboratory{_SEP})?tests?{_COLON}", re.I)
_EXAM = re.compile(rf"request{_SEP}(?:physical{_SEP})?exam(?:ination)?{_COLON}", re.I)
_IMAGES = re.compile(rf"request{_SEP}(?:the{_SEP})?images?\b", re.I)
_END = re.compile(r"^\W*end(?:[\s_\-]+(?:consultation|the consultation|session))?\W*$", re.I)
# Messages shaped like a command that is not one ("REQUEST TSET: CBC", "Diagnosis: gout"):
# answered with a hint, never passed to the patient as a question.
_COMMAND_LIKE = re.compile(r"^\W*request\b\W*[a-z]*", re.I)
_DIAGNOSIS_LIKE = re.compile(r"^\W*(?:final\s+|my\s+|working\s+)?diagnos[ie]s\s*[:=\-]", re.I)
_LIST_MARKER = re.compile(r"^\s*(?:\(?\d{1,2}[.)\]:]|[-*•]|\(?[a-z][.)])\s+", re.I)
_INLINE_NUMBER = re.compile(r"(?:^|\s)\(?\d{1,2}[.)]\s+")
_TRIM = " \t\r\n*_`\"'.,;:!?[]"

_KIND_ALIASES: dict[str, ActionKind] = {
    "ask": ActionKind.ASK,
    "question": ActionKind.ASK,
    "examine": ActionKind.EXAMINE,
    "exam": ActionKind.EXAMINE,
    "request_exam": ActionKind.EXAMINE,
    "order_test": ActionKind.ORDER_TEST,
    "test": ActionKind.ORDER_TEST,
    "request_test": ActionKind.ORDER_TEST,
    "request_images": ActionKind.REQUEST_IMAGES,
    "images": ActionKind.REQUEST_IMAGES,
    "diagnose": ActionKind.DIAGNOSE,
    "diagnosis": ActionKind.DIAGNOSE,
    "end": ActionKind.END,
}
_TEXT_KEYS = ("text", "question", "exam", "test", "name")


@dataclass(frozen=True, slots=True)
class ParseError:
    """Why a message is not an action; shown to the doctor as is."""

    message: str


def split_differential(text: str) -> tuple[str, ...]:
    """A ranked list from one line or many: numbered, bulleted, or separated by ; or ,."""
    text = text.strip()
    if "\n" in text:
        pieces = text.splitlines()
    elif ";" in text:
        pieces = text.split(";")
    elif len(_INLINE_NUMBER.findall(text)) > 1:
        pieces = _INLINE_NUMBER.split(text)
    else:
        pieces = _split_top_level_commas(text)
    ranked: list[str] = []
    for piece in pieces:
        item = _LIST_MARKER.sub("", piece).strip(_TRIM).strip()
        if item and item.casefold() not in {r.casefold() for r in ranked}:
            ranked.append(item)
    return tuple(ranked[:MAX_DIFFERENTIAL])


def _split_top_level_commas(text: str) -> list[str]:
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        depth += char == "("
        depth -= char == ")" and depth > 0
        if char == "," and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line.strip(_TRIM).strip()


def parse_action(message: str) -> Action | ParseError:
    """Parse one doctor message; never raises."""
    if not isinstance(message, str):
        return ParseError(f"a message must be text, not {type(message).__name__}")
    return _parse_text(message)


@functools.lru_cache(maxsize=65536)
def _parse_text(message: str) -> Action | ParseError:
    """Parsing is pure and its results immutable, so repeated messages are parsed once."""
    stripped = message.strip()
    if not stripped.strip(_TRIM):
        return ParseError("the message is empty")
    if stripped.startswith("{"):
        return parse_json_action(stripped)
    lowered = stripped.lower()
    if not any(word in lowered for word in ("request", "ready", "end", "diagnos")):
        return Action(kind=ActionKind.ASK, text=stripped)  # the common case: a plain question
    if match := _DIAGNOSIS.search(stripped):
        differential = split_differential(stripped[match.end() :])
        if not differential:
            return ParseError("DIAGNOSIS READY: must be followed by at least one diagnosis")
        return Action(kind=ActionKind.DIAGNOSE, differential=differential)
    if match := _TEST.search(stripped):
        name = _first_line(stripped[match.end() :])
        if not name:
            return ParseError("REQUEST TEST: must name a test")
        return Action(kind=ActionKind.ORDER_TEST, text=name)
    if match := _EXAM.search(stripped):
        return Action(kind=ActionKind.EXAMINE, text=_first_line(stripped[match.end() :]))
    if _IMAGES.search(stripped):
        return Action(kind=ActionKind.REQUEST_IMAGES)
    if _END.match(stripped):
        return Action(kind=ActionKind.END)
    if match := _COMMAND_LIKE.match(stripped):
        return ParseError(
            f'"{match.group(0).strip()}" is not a command: use REQUEST TEST: <name>, '
            "REQUEST EXAM: <system> or REQUEST IMAGES"
        )
    if _DIAGNOSIS_LIKE.match(stripped):
        return ParseError("to give your diagnosis, write DIAGNOSIS READY: <diagnoses>")
    return Action(kind=ActionKind.ASK, text=stripped)


def parse_json_action(text: str) -> Action | ParseError:
    """Structured form: ``{"action": "order_test", "test": "CBC"}`` and similar."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParseError(f"invalid JSON at character {exc.pos}: {exc.msg}")
    if not isinstance(data, dict):
        return ParseError("a JSON action must be an object")
    return action_from_mapping(data)


def action_from_mapping(data: dict[str, Any]) -> Action | ParseError:
    """Build an action from a mapping, naming the field at fault when it cannot."""
    raw_kind = data.get("action", data.get("kind"))
    if not isinstance(raw_kind, str):
        return ParseError('a JSON action needs an "action" field naming the action')
    kind = _KIND_ALIASES.get(raw_kind.strip().lower().replace(" ", "_").replace("-", "_"))
    if kind is None:
        known = ", ".join(sorted({k.value for k in ActionKind}))
        return ParseError(f'unknown action "{raw_kind}" (known: {known})')
    if kind is ActionKind.DIAGNOSE:
        raw = data.get("differential", data.get("diagnosis", data.get("text")))
        if isinstance(raw, str):
            differential = split_differential(raw)
        elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            differential = split_differential("\n".join(raw))
        else:
            return ParseError('"differential" must be a list of diagnoses, most likely first')
        if not differential:
            return ParseError('"differential" must hold at least one diagnosis')
        return Action(kind=kind, differential=differential)
    if kind in (ActionKind.REQUEST_IMAGES, ActionKind.END):
        return Action(kind=kind)
    text = next((data[key] for key in _TEXT_KEYS if key in data), None)
    if not isinstance(text, str) or not text.strip():
        field = {ActionKind.ASK: "question", ActionKind.ORDER_TEST: "test"}.get(kind, "exam")
        if kind is ActionKind.EXAMINE:
            return Action(kind=kind, text="")
        return ParseError(f'"{kind.value}" needs a non-empty "{field}" field')
    return Action(kind=kind, text=text.strip())
