# The course's commands. `make help` lists them.
#
# The environment lives in .venv (created with the python3.11 on the PATH). Conda users
# activate environment.yml and pass VENV=$CONDA_PREFIX to use it instead.

SHELL := /bin/bash
PYTHON_FOR_VENV ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.recsys-installed
JOBS ?= 2
REPEAT ?= 3

.DEFAULT_GOAL := help
.PHONY: help venv book test test-unit lab bench clean clean-notebooks format lint editions student browser-deps

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@if [ ! -x "$(PY)" ]; then \
	  "$(PYTHON_FOR_VENV)" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed, found " + sys.version' && \
	  echo "creating $(VENV) with $(PYTHON_FOR_VENV)" && "$(PYTHON_FOR_VENV)" -m venv "$(VENV)"; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

venv: $(STAMP)  ## create the environment in .venv (or update it when pyproject.toml changed)

book: $(STAMP)  ## build the website, executing every chapter; HTML in _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at _build/html/index.html"

browser-deps:  ## install Debian's chromium for the browser test (root, once)
	@command -v chromium > /dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium > /dev/null; \
	  else echo "The browser test needs chromium: sudo apt-get install -y chromium"; exit 1; fi; }

# One pytest run on JOBS workers: the unit tests, the book build (which executes every
# chapter once, in the default framework with its parity cells) on one worker, and the
# TensorFlow edition of every chapter on the others. Then the browser tests open the
# built pages (the second build is incremental: nothing is executed again).
test: $(STAMP) browser-deps  ## run the whole test suite: units, notebooks, book build, browser
	$(BIN)/pytest -n $(JOBS) --dist loadgroup -m "not browser" tests
	$(BIN)/pytest -m browser tests/book

test-unit: $(STAMP)  ## only the fast unit tests (no notebook, no book)
	$(BIN)/pytest -n $(JOBS) -m "not book and not browser and not notebooks"

lab: $(STAMP)  ## open the chapters in JupyterLab
	$(BIN)/jupyter lab chapters/

bench: $(STAMP)  ## time every notebook in a fresh kernel (median of REPEAT runs) -> benchmarks/
	$(PY) benchmarks/run_notebooks.py --repeat $(REPEAT)

editions: $(STAMP)  ## one notebook per framework of every chapter -> _build/editions/
	$(PY) -m coursetools editions chapters _build/editions

student: $(STAMP)  ## student versions of the chapters (solutions removed) -> student/
	$(PY) -m coursetools student chapters student

clean-notebooks: $(STAMP)  ## strip outputs and execution counts from the notebooks
	$(PY) -m coursetools clean chapters/*.ipynb

format: $(STAMP)  ## format the code and the notebooks with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP)  ## ruff, and the dual-framework rules of the chapters
	$(BIN)/ruff check .
	$(PY) -m coursetools lint chapters/*.ipynb

clean:  ## remove the built book and caches (keeps .venv)
	rm -rf _build student .pytest_cache
