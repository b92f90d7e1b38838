#!/bin/bash
# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
#
# Does training run on CUDA here, and how fast? One command for a lent GPU machine:
#   bash bench/gpu_check.sh [ITERATIONS] [CONFIG]
# Trains the Panda for a few iterations on the GPU (the authors' schedule by default) and
# prints each iteration's time and its split. Without a usable CUDA device it says why and
# exits 0, so that it can be run anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
iterations=${1:-3}
config=${2:-config/train_panda.yaml}

if ! "$py" - <<'PYEOF'
import sys
import torch
if torch.cuda.is_available():
    print(f'gpu_check: torch {torch.__version__}, CUDA {torch.version.cuda}, '
          f'{torch.cuda.get_device_name(0)}')
    sys.exit(0)
why = ('this torch is a CPU-only build' if torch.version.cuda is None
       else f'torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device')
print(f'gpu_check: no GPU to check: {why}; nothing done')
sys.exit(1)
PYEOF
then
    exit 0
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
"$py" -m predctl_ros.cli train --config "$config" --set device=cuda \
    --set iterations="$iterations" --set eval_every=1000000 --out "$out/run" \
    > "$out/train.log" 2>&1 || { tail -20 "$out/train.log"; echo 'gpu_check: training on CUDA failed'; exit 1; }
"$py" - "$out/run/metrics.csv" "$(( $(date +%s) - start ))" <<'PYEOF'
import csv
import sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f'{"iteration":>9} {"collect s":>10} {"P s":>8} {"policy s":>9} {"total s":>8}')
for r in rows:
    parts = [float(r[k] or 0) for k in ('collect_s', 'model_s', 'policy_s')]
    print(f'{r["iteration"]:>9} {parts[0]:10.1f} {parts[1]:8.1f} {parts[2]:9.1f} '
          f'{sum(parts):8.1f}')
print(f'gpu_check: training on CUDA works; {len(rows)} iterations in {sys.argv[2]} s '
      'wall clock (with start-up and the final evaluation)')
PYEOF
