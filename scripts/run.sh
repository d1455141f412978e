#!/usr/bin/env bash
# Set up (first run) and start the ovos-realtime daemon with its embedded messagebus and skills.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/ovos-realtime --standalone "$@"
