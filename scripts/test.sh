#!/usr/bin/env bash
# Set up (first run), check that the install resolves on every target platform (scripts/check_platforms.py),
# lint, type-check and run the whole test suite with no network: every test, the servers and OVOS processes they
# start run in an empty network namespace, and any attempt to connect beyond loopback (DNS included) fails the
# run (scripts/offline.sh). A coverage report (branches) ends the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# pip install ovos-realtime resolves on Linux aarch64 and x86_64, CPython 3.11 and 3.13 (needs PyPI: runs here,
# before the tests' empty network namespace); OVOS_REALTIME_PLATFORM_CHECK=0 skips it
[ "${OVOS_REALTIME_PLATFORM_CHECK:-1}" = "0" ] || .venv/bin/python scripts/check_platforms.py
.venv/bin/ruff check ovos_realtime_plugin tests benchmarks
.venv/bin/mypy
COVERAGE="--cov=ovos_realtime_plugin --cov-branch --cov-report=term-missing:skip-covered"
if scripts/offline.sh true 2>/dev/null; then
  if [ $# -eq 0 ]; then
    # the checks of offline.sh itself make namespaces and trace processes of their own, which they cannot do from
    # inside offline.sh's trace: they run first, outside it (they reach nothing beyond loopback either)
    .venv/bin/pytest -q -p no:cacheprovider tests/test_offline_check.py
    set -- --ignore=tests/test_offline_check.py
  fi
  scripts/offline.sh .venv/bin/pytest -q -p no:cacheprovider $COVERAGE "$@"
else
  echo "test.sh: cannot make a network namespace here; running the tests with the network" >&2
  .venv/bin/pytest -q -p no:cacheprovider $COVERAGE "$@"
fi
