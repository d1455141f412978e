"""docs/COMPATIBILITY.md's *Session fields* table names every field a session accepts: a field added to the
session model without a word on whether it is honoured fails here."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from ovos_realtime_plugin.core.config import AudioInput, AudioOutput, RealtimeSessionConfig, Transcription

DOC = Path(__file__).resolve().parent.parent / "docs" / "COMPATIBILITY.md"


def documented() -> str:
    """The first column of the *Session fields* table."""
    section = DOC.read_text().split("## Session fields", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return " ".join(rows)


def fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    return [prefix + name for name in model.model_fields]


def test_every_session_field_is_in_the_table() -> None:
    names = documented()
    wanted = (fields(RealtimeSessionConfig) + fields(AudioInput, "audio.input.")
              + fields(AudioOutput, "audio.output.") + fields(Transcription, "transcription.")
              + ["truncation.token_limits"])
    missing = [field for field in wanted if field not in ("audio",)
               and not re.search(rf"`{re.escape(field)}[`\s]", names)]
    assert missing == []
