"""Our own spoken lines, OVOS-style: ``locale/<lang>/<name>.dialog``, one variant per line."""

from __future__ import annotations

import functools
import random
from pathlib import Path

DEFAULT_LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
FALLBACK_LANG = "en-us"


class Dialogs:
    """Every variant of one dialog, per language, read once at start-up."""

    def __init__(self, name: str, locale_dir: Path = DEFAULT_LOCALE_DIR):
        self.name = name
        self._variants: dict[str, tuple[str, ...]] = {}
        if locale_dir.is_dir():
            for path in sorted(locale_dir.glob(f"*/{name}.dialog")):
                lines = path.read_text(encoding="utf-8").splitlines()
                variants = tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))
                if variants:
                    self._variants[path.parent.name.lower()] = variants
        if not self._variants:
            raise FileNotFoundError(f"no {name}.dialog under {locale_dir}")

    def variants(self, lang: str | None) -> tuple[str, ...]:
        """The variants for ``lang`` (``en-US``, ``en``): exact, then same language, then English."""
        tag = (lang or FALLBACK_LANG).lower().replace("_", "-")
        if tag in self._variants:
            return self._variants[tag]
        primary = tag.split("-")[0]
        for key, variants in self._variants.items():
            if key.split("-")[0] == primary:
                return variants
        return self._variants.get(FALLBACK_LANG) or next(iter(self._variants.values()))

    def pick(self, lang: str | None) -> str:
        return random.choice(self.variants(lang))


@functools.lru_cache(maxsize=16)
def load_dialogs(name: str, locale_dir: Path = DEFAULT_LOCALE_DIR) -> Dialogs:
    """:class:`Dialogs`, read from disk once per process."""
    return Dialogs(name, locale_dir)
