#!/usr/bin/env bash
# The suite on a second Python (3.13), in its own venv: pip gives it a newer JAX (0.12 on
# 2026-12-03) than Python 3.11 gets (0.10.2), so this is also the newer-JAX job.
# Browser tests are left to the main job (scripts/test.sh): they test the page, not Python.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=""
# the first that really runs: a pyenv shim is on PATH even when its version is not selected
for candidate in python3.13 /root/.pyenv/versions/3.13.*/bin/python3.13; do
  if "$candidate" -c "import sys; assert sys.version_info[:2] == (3, 13)" 2>/dev/null; then
    PY="$candidate"; break
  fi
done
if [ -z "$PY" ]; then
  echo "test-py313: SKIPPED, no python3.13 on this machine (install it, e.g. pyenv install 3.13)"
  exit 0
fi
VENV=.venv-py313
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
"$VENV/bin/python" -c "import sys, jax, jitmagic.ledger.forward as f; print('python', sys.version.split()[0], 'jax', jax.__version__, 'C forwarder:', f.HAVE_C)"
"$VENV/bin/python" -m pytest -p no:cacheprovider --ignore=tests/browser "$@"
