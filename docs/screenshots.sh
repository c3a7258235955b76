#!/usr/bin/env bash
# Remake docs/mlflow-compare.png and docs/dvc-plots.png: two `dvc exp` variants of the tiny test
# config in a temporary copy of the repo and MLflow's compare view of their pipeline runs; and
# `dvc plots show` of this repo's committed results; photographed by headless Chromium (Debian:
# apt-get install chromium).
# `dvc plots show` loads Vega from a CDN; VEGA (a folder, filled with `npm pack` if empty)
# serves the same versions offline. MLflow's page is taken by docs/shoot.py, which clicks its
# "Show diff only" switches: SHOOT_PY names a Python with `websocket-client` installed.
# Usage: SHOOT_PY=/path/to/python bash docs/screenshots.sh   (about 15 min on 2 busy cores)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
export PATH="$BIN:$PATH" PYTHONPATH="$ROOT/src:$ROOT" CI=1
WORK=${WORK:-$(mktemp -d)}   # set WORK to keep the runs and take the pictures again
VEGA=${VEGA:-$WORK/vega}
shot() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2" \
           --virtual-time-budget=20000 --screenshot="$3" "$1" 2>/dev/null; }

if [ ! -f "$WORK/repo/.done" ]; then
  python -c "from pathlib import Path; from tests.conftest import make_repo; make_repo(Path('$WORK/repo'))"
  cd "$WORK/repo"
  dvc repro -q
  dvc exp run -q -n noise-0.1 -S sdae.noise=0.1
  dvc exp run -q -n noise-0.4 -S sdae.noise=0.4
  touch .done
fi
cd "$WORK/repo"

# MLflow: the pipeline (parent) runs of the two experiments, side by side
PORT=$(python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
mlflow server --host 127.0.0.1 --port "$PORT" --workers 1 \
  --backend-store-uri "sqlite:///$PWD/mlflow.db" --default-artifact-root "$PWD/mlartifacts" \
  >/dev/null 2>&1 & SERVER=$!
trap 'kill $SERVER' EXIT
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 1; done
URL=$(python - "$PORT" <<'PY'
import json, sys, urllib.parse
from mlflow.tracking import MlflowClient
c = MlflowClient("sqlite:///mlflow.db")
exp = c.get_experiment_by_name("songcoder")
runs = [c.search_runs([exp.experiment_id], f"tags.dvc_exp_name = '{n}' and "
                      "tags.`songcoder.kind` = 'pipeline'")[0].info.run_id
        for n in ("noise-0.1", "noise-0.4")]
q = urllib.parse.urlencode({"runs": json.dumps(runs), "experiments": json.dumps([exp.experiment_id])})
print(f"http://127.0.0.1:{sys.argv[1]}/#/compare-runs?{q}")
PY
)
"${SHOOT_PY:-python}" "$ROOT/docs/shoot.py" "$URL" "$ROOT/docs/mlflow-compare.png" 1300 "Show diff only"
python - "$ROOT/docs/mlflow-compare.png" <<'PY'   # end the picture at the first tall gap
import sys
import numpy as np
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
ink = (np.asarray(im)[:, 160:940] < 150).any(axis=(1, 2))   # rows with writing in the main column
rows = np.nonzero(ink)[0]
gaps = np.nonzero(np.diff(rows) > 400)[0]
im.crop((0, 0, im.width, int(rows[gaps[0]] if len(gaps) else rows[-1]) + 40)).save(sys.argv[1])
PY

# dvc plots show, with Vega served from disk
if [ ! -f "$VEGA/vega.min.js" ]; then
  mkdir -p "$VEGA" && cd "$VEGA"
  for p in vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2; do
    tar xzf "$(npm pack -q "$p")" && cp package/build/"${p%@*}".min.js . && rm -rf package ./*.tgz
  done
  cd "$WORK/repo"
fi
cd "$ROOT"                     # the repo's own full-size results, not the tiny runs
dvc plots show -q -o "$WORK/plots"
sed -i -E "s#https://cdn.jsdelivr.net/npm/(vega[a-z-]*)@[0-9.]+#file://$VEGA/\1.min.js#" \
  "$WORK/plots/index.html"
shot "file://$WORK/plots/index.html" 1400,5200 "$ROOT/docs/dvc-plots.png"
