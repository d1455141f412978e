#!/usr/bin/env bash
# The browser tests' tools: Debian's headless Chromium + chromedriver (apt, listed in setup.sh's APT_PACKAGES)
# and OpenAI's Agents SDK for the browser (@openai/agents-realtime), bundled once with esbuild into one
# script a test page loads (global `AgentsRealtime`). Everything lands in the test cache; a second run
# finds the bundle and returns at once.
set -euo pipefail
AGENTS_REALTIME=0.20.0
ESBUILD=0.28.2
DIR="${OVOS_REALTIME_TEST_CACHE:-$HOME/.cache/ovos-realtime-tests}/browser"
BUNDLE="$DIR/agents-realtime-$AGENTS_REALTIME.js"
[ -s "$BUNDLE" ] && exit 0
if ! command -v npm >/dev/null; then  # Debian's nodejs comes without npm (NodeSource's has it built in)
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm
fi
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name": "ovos-realtime-browser-tests", "private": true}' > package.json
npm install --no-audit --no-fund --loglevel=error --save-exact \
  "@openai/agents-realtime@$AGENTS_REALTIME" "esbuild@$ESBUILD"
echo "export * from '@openai/agents-realtime';" > entry.js
node_modules/.bin/esbuild entry.js --bundle --format=iife --platform=browser --global-name=AgentsRealtime \
  --log-level=warning --outfile="$BUNDLE.tmp"
mv "$BUNDLE.tmp" "$BUNDLE"
