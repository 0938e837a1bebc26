#!/usr/bin/env bash
# Set up (see setup.sh), then execute demo.ipynb top to bottom on CPU and save it with its outputs.
# Open it afterwards with `jupyter lab demo.ipynb` to watch the dashboard live.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m jupyter nbconvert --to notebook --execute --inplace \
  --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.store_widget_state=True demo.ipynb
echo "demo.ipynb executed and saved with outputs"
