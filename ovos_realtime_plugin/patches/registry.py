"""What a patch of another library declares, the guard that checks the installed version, and which process
applied which patch.

A patch replaces an attribute of a module we do not own, so it is only as good as the version it was read
against: each one names the distribution and the range of versions it was checked on, and on any other version
(or when the distribution is missing) it is not applied and the reason is logged once, at WARNING. The library
then runs as it ships: slower, never wrong.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import platform
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Owner = Literal["daemon", "skills"]
"""The processes this project owns: ``ovos-realtime`` (cli.main) and the skills child it starts."""
PYTHON = "python"
"""The distribution name of a patch of the standard library: its range is Python's version."""


@dataclass(frozen=True)
class Patch:
    """One replaced attribute: ``module`` ``attribute`` (dotted for a class's: ``Class.method``)."""

    name: str
    module: str
    attribute: str
    distribution: str
    checked: tuple[str, str]
    """The versions it was read against: from the first (included) up to the second (excluded)."""
    why: str
    owners: frozenset[Owner]
    apply: Callable[[], object]
    """Installs it (idempotent); nothing for one its user puts in place only while it needs it."""
    late: bool = False
    """Applied where it is needed (``patches.apply_late``), not at start-up: its module is imported by the engine
    that uses it (importing it earlier would cost start-up time, or fetch from the network)."""

    @property
    def target(self) -> str:
        return f"{self.module}.{self.attribute}"

    def current(self) -> Any:
        """What the target is now (:func:`resolve`)."""
        return resolve(self.module, self.attribute)


def resolve(module: str, attribute: str) -> Any:
    """``module``'s ``attribute`` as stored (a classmethod itself, not a new bound method each time); imports the
    module. ``AttributeError`` if it is not there."""
    value: Any = importlib.import_module(module)
    for part in attribute.split("."):
        value = inspect.getattr_static(value, part)
    return value


def installed_version(distribution: str) -> str | None:
    if distribution == PYTHON:
        return platform.python_version()
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version (``1.9.2`` -> (1, 9, 2); ``2.0.0a1`` -> (2, 0, 0))."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def refusal(patch: Patch, version: str | None = None) -> str | None:
    """Why ``patch`` must not be applied on this installation (``version``: the one to judge instead), or None."""
    version = installed_version(patch.distribution) if version is None else version
    if version is None:
        return f"{patch.distribution} is not installed"
    low, high = patch.checked
    if not _release(low) <= _release(version) < _release(high):
        return (f"{patch.distribution} {version} is outside the versions it was checked on "
                f"(>={low}, <{high}): {patch.target} left as it ships")
    return None


class Applied:
    """Which owner this process belongs to, and the patches guarded and applied in it."""

    def __init__(self) -> None:
        self.owner: Owner | None = None
        self.done: set[str] = set()
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def apply(self, patch: Patch) -> bool:
        """Apply ``patch`` if this process's owner takes it and the guard lets it; whether it is in place."""
        with self._lock:
            if self.owner is None or self.owner not in patch.owners:
                return False
            if patch.name in self.done:
                return True
            reason = refusal(patch)
            if reason is not None:
                if patch.name not in self._warned:
                    self._warned.add(patch.name)
                    log.warning("patch %s not applied: %s", patch.name, reason)
                return False
            patch.apply()
            self.done.add(patch.name)
            log.debug("patch %s applied to %s: %s", patch.name, patch.target, patch.why)
            return True


APPLIED = Applied()
