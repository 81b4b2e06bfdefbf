"""A doctor played by a model, speaking the text command protocol or calling tools.

Its conversation is append-only: the protocol's observations go in as user (or tool)
messages and its own turns as assistant messages. Images reach a vision model as image
content parts of the same conversation, never through a second, text-only call.
"""

from __future__ import annotations

import base64
import functools
import json
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from clinic_env.agents.base import DoctorObservation
from clinic_env.agents.model_role import ModelRole
from clinic_env.content import content_path, load_yaml_model
from clinic_env.llm.client import ToolCall
from clinic_env.llm.prompts import render_prompt
from clinic_env.protocol.parsing import ParseError, action_from_mapping
from clinic_env.schema.action import Action
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import CaseImage


class ToolSpec(Frozen):
    name: str
    action: Literal["ask", "examine", "order_test", "request_images", "diagnose"]
    argument: str | None = None
    description: str
    parameter_description: str | None = None


class ToolFile(Frozen):
    tools: tuple[ToolSpec, ...]


@functools.cache
def doctor_tools() -> tuple[ToolSpec, ...]:
    return load_yaml_model(content_path("agents", "prompts", "doctor_tools.yaml"), ToolFile).tools


def tool_schemas() -> list[dict[str, Any]]:
    """The tools in the OpenAI function-calling format."""
    schemas = []
    for spec in doctor_tools():
        properties: dict[str, Any] = {}
        if spec.argument == "differential":
            properties[spec.argument] = {
                "type": "array",
                "items": {"type": "string"},
                "description": spec.parameter_description,
            }
        elif spec.argument is not None:
            properties[spec.argument] = {
                "type": "string",
                "description": spec.parameter_description,
            }
        schemas.append(
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": {
                        "type": "object",
                        "properties": properties,
                        "required": list(properties),
                    },
                },
            }
        )
    return schemas


def action_from_tool_call(call: ToolCall) -> Action | str:
    """The protocol action a tool call stands for; a broken call is passed on as text, so the
    protocol explains the problem to the model instead of crashing."""
    spec = next((s for s in doctor_tools() if s.name == call.name), None)
    if spec is None:
        return f"(called unknown tool {call.name!r})"
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return f"(called {call.name} with arguments that are not JSON: {call.arguments[:200]})"
    if not isinstance(arguments, dict):
        arguments = {}
    mapping: dict[str, Any] = {"action": spec.action}
    if spec.argument is not None and spec.argument in arguments:
        mapping[spec.argument] = arguments[spec.argument]
    parsed = action_from_mapping(mapping)
    return json.dumps(mapping) if isinstance(parsed, ParseError) else parsed


def image_part(image: CaseImage) -> dict[str, Any]:
    """An image content part: remote URLs as they are, local files inlined as data URLs."""
    location = image.location
    if not location.startswith(("http://", "https://", "data:")):
        path = Path(location)
        kind = mimetypes.guess_type(path.name)[0] or "image/png"
        location = f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": location}}


class LLMDoctor:
    offline = False

    def __init__(self, model: ModelRole, max_turns: int, biases: Sequence[str] = ()) -> None:
        """``biases`` are doctor bias texts, targets filled in, added to the system prompt."""
        self.model = model
        self.tools = tool_schemas() if model.config.tools else None
        prompt = "doctor_tools" if self.tools else "doctor"
        system = render_prompt(
            prompt,
            max_turns=str(max_turns),
            biases="\n\n".join(text.strip() for text in biases),
        )
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        self._open_call: ToolCall | None = None

    async def act(self, observation: DoctorObservation) -> Action | str:
        self.messages.extend(self._observation_messages(observation))
        completion = await self.model.complete(self.messages, tools=self.tools)
        if completion.tool_calls:
            call = completion.tool_calls[0]
            self.messages.append(
                {
                    "role": "assistant",
                    "content": completion.text or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                    ],
                }
            )
            self._open_call = call
            return action_from_tool_call(call)
        self.messages.append({"role": "assistant", "content": completion.text})
        return completion.text

    def _observation_messages(self, observation: DoctorObservation) -> list[dict[str, Any]]:
        """The observation as the next message(s): a tool result answers an open tool call."""
        messages: list[dict[str, Any]] = []
        text = observation.text
        if self._open_call is not None:
            messages.append({"role": "tool", "tool_call_id": self._open_call.id, "content": text})
            self._open_call = None
            text = ""
        if observation.images and self.model.config.vision:
            parts: list[dict[str, Any]] = [{"type": "text", "text": text or "The images:"}]
            parts.extend(image_part(image) for image in observation.images)
            messages.append({"role": "user", "content": parts})
        elif text:
            messages.append({"role": "user", "content": text})
        return messages
