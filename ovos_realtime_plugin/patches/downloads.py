"""No downloads while the speech plugins import and construct: ``urllib.request.urlopen`` refuses.

The piper plugin fetches its voice list at import with no timeout; a module that binds ``urlopen`` at import keeps
the refusing one, so such look-ups stay offline for the life of the process. ``urlopen`` is the whole process's:
only a process of ours swaps it (inside ovos-PHAL the device's other plugins share it), and only while the engines
load.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any


def _refuse_download(url: Any, *args: Any, **kwargs: Any) -> Any:
    target = getattr(url, "full_url", url)
    raise OSError(f"ovos-realtime runs offline: refused to fetch {target} "
                  "(set \"allow_downloads\": true in the \"realtime\" section to allow it)")


@contextlib.contextmanager
def urlopen_refused(allowed: Callable[[], bool]) -> Iterator[None]:
    """While in the block, ``urllib.request.urlopen`` refuses to fetch, if ``allowed()`` says the patch may go in
    (the guard: a process of ours, a known Python)."""
    if not allowed():
        yield
        return
    real = urllib.request.urlopen
    urllib.request.urlopen = _refuse_download
    try:
        yield
    finally:
        urllib.request.urlopen = real
