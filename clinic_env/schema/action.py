"""What a doctor can do on a turn."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from clinic_env.schema.base import Frozen


class ActionKind(StrEnum):
    ASK = "ask"
    EXAMINE = "examine"
    ORDER_TEST = "order_test"
    REQUEST_IMAGES = "request_images"
    DIAGNOSE = "diagnose"
    END = "end"


class Action(Frozen):
    """One doctor action: a question, an exam, a test, images, a ranked differential, or end.

    ``text`` is the question, or the exam or test asked for; ``differential`` is the ranked
    diagnosis list of a DIAGNOSE action, most likely first.
    """

    kind: ActionKind
    text: str = ""
    differential: tuple[str, ...] = Field(default=())
