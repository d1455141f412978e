"""Imported at start-up by the OVOS server processes the tests run (this folder is on their PYTHONPATH):
``urllib.request.urlopen`` refuses anything beyond loopback, as ovos-realtime's own plugin loader does. The piper
plugin fetches its voice list at import; offline, that would be a DNS look-up the test run must not make."""

import urllib.request
from typing import Any
from urllib.error import URLError
from urllib.parse import urlparse

_real_urlopen = urllib.request.urlopen
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _loopback_only(url: Any, *args: Any, **kwargs: Any) -> Any:
    host = urlparse(url if isinstance(url, str) else url.full_url).hostname
    if host not in LOOPBACK:
        raise URLError(f"the ovos-realtime tests run offline: refused to fetch {host}")
    return _real_urlopen(url, *args, **kwargs)


urllib.request.urlopen = _loopback_only
