"""The replay doctor: says again, turn by turn, what a recorded transcript's doctor said.

Replaying a transcript against the same case, persona and seed reproduces it exactly; against
another persona or patient it shows how the same questions fare elsewhere.
"""

from __future__ import annotations

from clinic_env.agents.base import DoctorObservation
from clinic_env.errors import ProtocolError
from clinic_env.schema.transcript import Transcript


class ReplayDoctor:
    offline = True

    def __init__(self, transcript: Transcript) -> None:
        self.messages = [turn.doctor_message for turn in transcript.turns]
        self.position = 0

    async def act(self, observation: DoctorObservation) -> str:
        if self.position >= len(self.messages):
            raise ProtocolError("the recorded transcript has no more doctor messages to replay")
        message = self.messages[self.position]
        self.position += 1
        return message
