#!/usr/bin/env bash
# Set up (see setup.sh), then run the whole test suite: lint, unit, magics, notebooks, browser.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m ruff check .
python3 -m mypy            # config: [tool.mypy] in pyproject.toml
lint-imports               # layer contracts: [tool.importlinter] in pyproject.toml
python3 -m pytest "$@"
