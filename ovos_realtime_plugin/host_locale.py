"""The host's own timezone and language, for a standalone daemon whose mycroft.conf names none.

ovos-config ships a location (Lawrence, Kansas: ``America/Chicago``) and ``en-us``. A standalone daemon on a
machine whose user never edited those would answer "what time is it" with Kansas's clock. So, when the merged
mycroft.conf's ``location`` is missing or still the shipped one, the skills service gets the host's timezone:
``TZ`` (``Europe/Lisbon`` or ``:Europe/Lisbon``), else the ``/etc/localtime`` link, else ``/etc/timezone``, else
UTC. Likewise ``lang`` from the host locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``de_DE.UTF-8`` → ``de-DE``)
when mycroft.conf's is the shipped one and the language is one the OVOS skill framework ships resources for.
A location or language the user set always wins.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZONEINFO_MARK = "zoneinfo/"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def host_timezone(env: Mapping[str, str] | None = None, etc: Path = Path("/etc")) -> str:
    """The host's IANA timezone name; ``UTC`` when nothing names one."""
    env = os.environ if env is None else env
    candidates = [env.get("TZ", "").lstrip(":")]
    localtime = etc / "localtime"
    if localtime.is_symlink():
        target = str(localtime.resolve())
        candidates.append(target.split(ZONEINFO_MARK, 1)[1] if ZONEINFO_MARK in target else "")
    timezone_file = etc / "timezone"
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(errors="replace").strip())
    return next((name for name in candidates if _is_zone(name)), "UTC")


def _is_zone(name: str) -> bool:
    if not name or name.startswith("/"):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def host_lang(supported: set[str], env: Mapping[str, str] | None = None) -> str | None:
    """The host locale's language as an OVOS tag (``de-DE``) when ``supported`` has its language (``de``)."""
    env = os.environ if env is None else env
    value = next((env[name] for name in LOCALE_VARIABLES if env.get(name)), "")
    tag = value.split(".", 1)[0].split("@", 1)[0]
    language, _, region = tag.partition("_")
    if not language.isalpha() or language.lower() not in supported:
        return None  # "C", "POSIX", unset, or a language without OVOS resources
    return f"{language.lower()}-{region.upper()}" if region.isalpha() else language.lower()


def skill_languages() -> set[str]:
    """The languages ovos-workshop (every skill's framework) ships resources for: ``{"en", "de", ...}``."""
    import ovos_workshop

    root = Path(ovos_workshop.__file__).parent / "locale"
    return {path.name.split("-", 1)[0].lower() for path in root.iterdir() if path.is_dir()}


def timezone_location(name: str, now: datetime.datetime | None = None) -> dict[str, Any]:
    """A mycroft.conf ``location`` naming only a timezone, in ovos-config's shape (offsets in ms)."""
    moment = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(ZoneInfo(name))
    offset, dst = moment.utcoffset(), moment.dst()
    return {"timezone": {"code": name, "name": name,
                         "offset": int(offset.total_seconds() * 1000) if offset else 0,
                         "dstOffset": int(dst.total_seconds() * 1000) if dst else 0}}


def local_defaults(conf: Mapping[str, Any], shipped: Mapping[str, Any],
                   env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``location`` and ``lang`` sections from the host, for those that ``conf`` leaves as ``shipped`` has them."""
    found: dict[str, Any] = {}
    if conf.get("location") in (None, {}, shipped.get("location")):
        found["location"] = timezone_location(host_timezone(env))
    if str(conf.get("lang") or "").lower() in ("", str(shipped.get("lang") or "").lower()):
        lang = host_lang(skill_languages(), env)
        if lang is not None:
            found["lang"] = lang
    return found
