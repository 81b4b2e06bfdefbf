"""A run folder: transcripts appended one JSON line per consultation, flushed as each ends."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from clinic_env.content import validation_message
from clinic_env.errors import ConfigError, UserError
from clinic_env.schema.transcript import Transcript

TRANSCRIPTS = "transcripts.jsonl"


class TranscriptWriter:
    """Appends transcripts to ``folder/transcripts.jsonl``; each line is on disk when written."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / TRANSCRIPTS
        self._file = None

    def __enter__(self) -> TranscriptWriter:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def write(self, transcript: Transcript) -> None:
        if self._file is None:
            raise ConfigError("TranscriptWriter.write() outside its `with` block")
        self._file.write(transcript.model_dump_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_transcripts(path: Path) -> list[Transcript]:
    """Every transcript of a JSONL file; a bad line is an error naming the file and line."""
    transcripts = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                transcripts.append(Transcript.model_validate(json.loads(line)))
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            except ValidationError as exc:
                raise UserError(validation_message(exc, path, base_line=number)) from None
    return transcripts
