# songcoder: `make run` sets everything up and runs the pipeline; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# `make VENV=/path/to/venv ...` uses an existing environment as it is (nothing installed);
# exported, so .ci/rerun uses the same one.
VENV   ?= .venv
export VENV
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run real test test-slow bench ui ci-rerun clean

ifeq ($(origin VENV),file)
setup: $(STAMP)
else
setup:
	@test -x $(BIN)/dvc || { echo "VENV=$(VENV) has no dvc: run make setup without VENV" >&2; exit 1; }
endif

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

run: setup                 ## set up, run the whole pipeline on the default data, print its headlines
	$(BIN)/python stages/layers.py   # one pretrain stage per sdae.layers entry
	PATH="$(BIN):$$PATH" $(BIN)/dvc repro
	@$(BIN)/songcoder summary

# Real music: free game music from Debian packages (apt-get download + dpkg -x, no root) into
# real/music, then the whole pipeline on it as a DVC experiment in the workspace, so that
# `songcoder embed/similar` use codes learned from real music. `git checkout params.yaml &&
# make run` goes back to the built-in corpus.
REAL ?= real/music
real: setup                ## fetch ~12 h of free game music, run the pipeline on it
	$(BIN)/python -m songcoder.audio.gamemusic $(REAL)
	PATH="$(BIN):$$PATH" $(BIN)/dvc exp run -S data.source=folder -S data.folder=$(REAL) -S prepare.features=extended
	@$(BIN)/songcoder summary

test: setup                ## the fast test suite (what CI runs), one worker per core
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -n auto

test-slow: setup           ## the long tests only
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -n auto -m slow

bench: setup               ## speed and scale figures -> benchmarks/results/*.json
	for b in benchmarks/*.py; do PATH="$(BIN):$$PATH" $(BIN)/python $$b || exit 1; done

ui: setup                  ## browse and compare runs at http://127.0.0.1:5000
	@echo "open http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db \
	  --default-artifact-root $(CURDIR)/mlartifacts --host 127.0.0.1 --port 5000

ci-rerun: setup            ## what CI's pipeline job does: CI-sized rerun + diff vs base
	bash .ci/rerun $(BASE)

clean:                     ## remove pipeline outputs and the local MLflow store (keeps .venv)
	rm -rf data/audio data/features data/*.csv models metrics plots generated checkpoints \
	  mlflow.db mlflow.db.lock mlartifacts
