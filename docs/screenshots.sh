#!/usr/bin/env bash
# Remake docs/mlflow-compare.png and docs/dvc-plots.png: two `dvc exp` variants of the tiny test
# config in a temporary copy of the repo, MLflow's compare view of their pipeline runs, and
# `dvc plots show`, each photographed by headless Chromium (Debian: apt-get install chromium).
# `dvc plots show` loads Vega from a CDN; VEGA (a folder, filled with `npm pack` if empty)
# serves the same versions offline. Usage: bash docs/screenshots.sh   (a few minutes of CPU)
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
dvc exp show --only-changed --drop 'Created|State|Executor' --md > "$WORK/exp-show.md"

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
shot "$URL" 1400,2400 "$ROOT/docs/mlflow-compare.png"

# dvc plots show, with Vega served from disk
if [ ! -f "$VEGA/vega.min.js" ]; then
  mkdir -p "$VEGA" && cd "$VEGA"
  for p in vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2; do
    tar xzf "$(npm pack -q "$p")" && cp package/build/"${p%@*}".min.js . && rm -rf package ./*.tgz
  done
  cd "$WORK/repo"
fi
dvc plots show -q -o "$WORK/plots"
sed -i -E "s#https://cdn.jsdelivr.net/npm/(vega[a-z-]*)@[0-9.]+#file://$VEGA/\1.min.js#" \
  "$WORK/plots/index.html"
shot "file://$WORK/plots/index.html" 1400,5200 "$ROOT/docs/dvc-plots.png"
cat "$WORK/exp-show.md"
