"""What a skill package's ``locale/<lang>/`` folder says: intent samples, slot examples, the skill's name.

Skill packages installed in this Python are found through their ``opm.skill`` / ``ovos.plugin.skill`` entry
points, without importing them. Blocking file I/O: call from a worker thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

from ovos_utils.bracket_expansion import expand_template

SKILL_ENTRY_POINTS = ("opm.skill", "ovos.plugin.skill")


def clean(sample: str) -> str:
    return " ".join(sample.split())


def pick_lang(by_lang: Mapping[str, Any], lang: str) -> Any:
    """The entry for ``lang`` (case-insensitive), else one of the same primary language, else ``None``."""
    wanted = lang.lower()
    for key, value in by_lang.items():
        if key.lower() == wanted:
            return value
    primary = wanted.split("-")[0]
    for key, value in by_lang.items():
        if key.lower().split("-")[0] == primary:
            return value
    return None


@dataclass(frozen=True)
class SkillLocale:
    name: str | None
    intents: Mapping[str, tuple[str, ...]]
    """``<file>.intent`` → expanded samples"""
    entities: Mapping[str, tuple[str, ...]]
    """slot → example values (``<slot>.entity``)"""


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _expanded(lines: Iterable[str]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for line in lines:
        out.update(dict.fromkeys(clean(s) for s in expand_template(line) if s.strip()))
    return tuple(out)


def read_skill_locale(skill_dir: Path, lang: str) -> SkillLocale | None:
    """The ``locale/<lang>/`` folder of a skill package (blocking file I/O)."""
    locale = skill_dir / "locale"
    if not locale.is_dir():
        return None
    folder = pick_lang({p.name: p for p in locale.iterdir() if p.is_dir()}, lang)
    if folder is None:
        return None
    name = None
    meta = folder / "skill.json"
    if meta.is_file():
        try:
            name = str(json.loads(meta.read_text(encoding="utf-8")).get("name") or "").strip() or None
        except (OSError, ValueError):
            name = None
    intents = {p.name: _expanded(_lines(p)) for p in sorted(folder.rglob("*.intent"))}
    entities = {p.stem: _expanded(_lines(p)) for p in sorted(folder.rglob("*.entity"))}
    return SkillLocale(name, intents, entities)


def installed_skill_dirs() -> dict[str, Path]:
    """``skill_id`` → package folder, for the skills installed in this Python (without importing them)."""
    dirs: dict[str, Path] = {}
    for group in SKILL_ENTRY_POINTS:
        for entry in metadata.entry_points(group=group):
            module = entry.value.split(":")[0].strip()
            try:
                spec = util.find_spec(module)
            except (ImportError, ValueError):
                continue
            if spec is None:
                continue
            if spec.submodule_search_locations:
                dirs.setdefault(entry.name, Path(next(iter(spec.submodule_search_locations))))
            elif spec.origin:
                dirs.setdefault(entry.name, Path(spec.origin).parent)
    return dirs
