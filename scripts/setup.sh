#!/usr/bin/env bash
# Installs everything ovos-realtime needs on a fresh Debian/Ubuntu machine into ./.venv.
#   scripts/setup.sh          runtime
#   scripts/setup.sh test     runtime + test tools
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES="espeak-ng swig libfann-dev sox strace iproute2"
# headless Chromium for the browser tests (tests/test_browser_*.py)
[ "${1:-}" = "test" ] && APT_PACKAGES="$APT_PACKAGES chromium chromium-driver"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extra=""; [ "${1:-}" = "test" ] && extra="[test]"
.venv/bin/python -m pip install -q -c constraints.txt -e ".$extra"
# OVOS's STT/TTS servers for the scale-out tests (own venv; skipped with OVOS_REALTIME_OVOS_SERVERS=0)
[ "${1:-}" = "test" ] && scripts/setup_ovos_servers.sh
# the tests' real small chat model (a separate server; skipped with OVOS_REALTIME_LOCAL_LLM=0)
[ "${1:-}" = "test" ] && scripts/setup_local_llm.sh
[ "${1:-}" = "test" ] && scripts/setup_browser.sh
# pipecat and LiveKit Agents, the third-party Realtime clients (own venv; skipped with OVOS_REALTIME_CLIENTS=0)
[ "${1:-}" = "test" ] && scripts/setup_clients.sh
exit 0
