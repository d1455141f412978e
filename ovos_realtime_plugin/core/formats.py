"""Audio formats the protocol names, as the core needs them: sample rate and bytes per sample."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioFormat:
    """A wire audio format. ``type`` uses the GA names: ``audio/pcm``, ``audio/pcmu``, ``audio/pcma``."""

    type: str
    rate: int

    @property
    def sample_width(self) -> int:
        return 2 if self.type == "audio/pcm" else 1

    @property
    def bytes_per_ms(self) -> float:
        return self.rate * self.sample_width / 1000

    def duration_ms(self, n_bytes: int) -> int:
        return int(n_bytes / self.bytes_per_ms)

    def bytes_for_ms(self, ms: int) -> int:
        """Byte count of ``ms`` milliseconds, rounded down to a whole sample."""
        n = int(ms * self.bytes_per_ms)
        return n - n % self.sample_width


PCM24K = AudioFormat("audio/pcm", 24000)
PCMU = AudioFormat("audio/pcmu", 8000)
PCMA = AudioFormat("audio/pcma", 8000)

BETA_NAMES = {"pcm16": PCM24K, "g711_ulaw": PCMU, "g711_alaw": PCMA}


def from_ga(spec: dict[str, object]) -> AudioFormat:
    """``{"type": "audio/pcm", "rate": 24000}`` → :class:`AudioFormat`."""
    kind = str(spec.get("type") or "audio/pcm")
    if kind == "audio/pcm":
        rate = spec.get("rate")
        return AudioFormat(kind, int(rate) if isinstance(rate, int) else 24000)
    return PCMU if kind == "audio/pcmu" else PCMA


def beta_name(fmt: AudioFormat) -> str:
    return {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}[fmt.type]
