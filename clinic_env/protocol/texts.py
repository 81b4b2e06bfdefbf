"""The fixed texts the protocol shows the doctor, loaded from ``agents/prompts/protocol.yaml``."""

from __future__ import annotations

import functools

from clinic_env.content import content_path, load_yaml_model
from clinic_env.schema.base import Frozen


class ProtocolTexts(Frozen):
    """One template per kind of observation; placeholders use ``str.format`` names."""

    opening: str
    opening_tools: str
    options: str
    patient_reply: str
    exam_result: str
    exam_normal: str
    exam_unrecorded: str
    exam_unrecognised: str
    test_result: str
    test_results: str
    test_results_item: str
    test_found_elsewhere: str
    test_reported_in: str
    test_from_exam: str
    test_normal: str
    test_unrecorded: str
    test_unrecognised: str
    images_available: str
    images_none: str
    diagnosis_recorded: str
    ended: str
    out_of_turns: str
    invalid: str
    turns_left: str
    last_turn: str
    last_turn_tools: str
    redacted: str


@functools.cache
def protocol_texts() -> ProtocolTexts:
    return load_yaml_model(content_path("agents", "prompts", "protocol.yaml"), ProtocolTexts)
