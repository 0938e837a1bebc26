#!/usr/bin/env bash
# Install everything jitmagic, its tests and its demo need, on a fresh Debian machine.
# Idempotent: quick when things are already there. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
# System packages: Graphviz's `dot` (server-side graph rendering), Debian's Chromium
# (the real-browser tests drive it through Playwright; no browser download), fonts.
if ! command -v dot >/dev/null || ! command -v chromium >/dev/null; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends graphviz chromium fonts-dejavu-core
fi
python3 -m pip install -q -e ".[test]"
python3 -c "import jitmagic, jitmagic.ledger.forward as f; print('jitmagic', jitmagic.__version__, 'C forwarder:', f.HAVE_C)"
