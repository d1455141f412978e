#!/usr/bin/env bash
# Third-party Realtime clients for tests/test_client_*.py, in their own ./.venv-clients (they are other people's
# apps, and pull versions the main venv must not get):
#   pipecat-ai 1.14.0 [openai] (`pipecat.services.openai.realtime.llm.OpenAIRealtimeLLMService`)
#   livekit-agents 1.8.9 + livekit-plugins-openai 1.8.9 (`livekit.plugins.openai.realtime.RealtimeModel`)
# No extra that downloads a model at run time (no silero VAD, no turn detector): both use the server's turn
# detection. Pinned: constraints-clients.txt. ~35 s and ~750 MB on a fresh venv with a warm pip cache.
# OVOS_REALTIME_CLIENTS=0 skips it (and the tests that need it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${OVOS_REALTIME_CLIENTS:-1}" = "0" ] && exit 0
PACKAGES=("pipecat-ai[openai]==1.14.0" livekit-agents==1.8.9 livekit-plugins-openai==1.8.9)
if [ -x .venv-clients/bin/python ] && .venv-clients/bin/python -c \
    "import pipecat.services.openai.realtime.llm, livekit.plugins.openai.realtime" 2>/dev/null; then
  exit 0
fi
PY=${PYTHON:-python3}
[ -x .venv-clients/bin/python ] || "$PY" -m venv .venv-clients
.venv-clients/bin/python -m pip install -q --upgrade pip
.venv-clients/bin/python -m pip install -q -c constraints-clients.txt "${PACKAGES[@]}"
