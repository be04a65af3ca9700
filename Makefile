# The course's commands. `make help` lists them.
#
# The environment lives in .venv, created with the newest Python 3.13, 3.12 or 3.11 on
# the PATH that runs (PYTHON=/path/to/python3.X chooses another), and holds the package
# with every extra at the versions pinned in constraints.txt. Conda users activate
# environment.yml and pass VENV=$CONDA_PREFIX to use it instead.

SHELL := /bin/bash
SUPPORTED_PYTHONS := 3.13 3.12 3.11
# A candidate counts if it runs and has venv and ensurepip (pyenv shims of versions that
# are not selected, and Debian without python3.X-venv, fail this and are skipped).
_PY_OK = import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])
PYTHON ?= $(firstword $(foreach v,$(SUPPORTED_PYTHONS),$(if $(filter $(v),$(shell python$(v) -c '$(_PY_OK)' 2> /dev/null)),$(shell command -v python$(v)))))
EXTRAS := torch,tensorflow,text,faiss,myst-nb,book,lab,test
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.recsys-installed
# uv installs the pins (pip installs uv): the same packages as pip at the same versions
# (constraints.txt pins all of them), compiled to bytecode as pip does (the grader's
# sandbox cannot write __pycache__), in 80 s instead of pip's 128 s on two cores with
# nothing cached. The wheel folders and pages pip is configured with (find-links, in
# pip.conf or PIP_FIND_LINKS) are passed on to uv, which does not read pip's settings.
UV_VERSION := 0.13.9
JOBS ?= 2
REPEAT ?= 3

.DEFAULT_GOAL := help
.PHONY: help venv which-python constraints book test test-unit stage export movielens-results lab bench clean clean-notebooks format lint editions student release grade browser-deps sandbox-deps system-deps

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x "$(PY)" ]; then \
	  if [ -z "$(PYTHON)" ]; then \
	    echo "No Python $(SUPPORTED_PYTHONS) with venv found on the PATH (python3.13, python3.12, python3.11)."; \
	    echo "Install one (Debian/Ubuntu: apt-get install -y python3.12 python3.12-venv) or pass PYTHON=/path/to/python3.X."; \
	    exit 1; fi; \
	  version=$$("$(PYTHON)" -c '$(_PY_OK)' 2> /dev/null); \
	  case " $(SUPPORTED_PYTHONS) " in *" $$version "*) ;; *) \
	    echo "PYTHON=$(PYTHON) is Python $${version:-?} (or lacks venv); the course supports $(SUPPORTED_PYTHONS)."; \
	    exit 1;; esac; \
	  echo "creating $(VENV) with $(PYTHON) (Python $$version)" && "$(PYTHON)" -m venv "$(VENV)"; fi
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	links=$$($(PY) -m pip config get global.find-links 2> /dev/null || true); \
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(PY) -c constraints.txt \
	  -e ".[$(EXTRAS)]" \
	  $$(for d in $${PIP_FIND_LINKS:-} $$links; do case "$$d" in \
	    http://*|https://*) echo "--find-links $$d";; *) [ ! -d "$$d" ] || echo "--find-links $$d";; esac; done)
	@touch $(STAMP)

venv: $(STAMP)  ## create the environment in .venv (or update it when the pins changed)

which-python:  ## print the Python that `make venv` would create .venv with
	@if [ -n "$(PYTHON)" ]; then echo "$(PYTHON)"; else echo "none of python$(SUPPORTED_PYTHONS) found" >&2; exit 1; fi

constraints: $(STAMP)  ## re-resolve the pins (needs the package index) -> constraints.txt
	$(PY) -m pip install --dry-run --ignore-installed --quiet --report $(VENV)/resolution.json \
	  -c constraints.txt ".[$(EXTRAS)]"
	$(PY) -m coursetools constraints $(VENV)/resolution.json constraints.txt

# The website: one site per framework (coursetools/site.py), each rendered from that
# framework's executed editions, the parity sections and the pages of book/. Only the
# notebooks that are missing, stale or failed in $(EXECUTED) are executed first (JOBS
# at once), with MovieLens-100K from RECSYS_MOVIELENS_HOME or, without it, none (the
# recorded results). A failed execution or build publishes nothing: the command exits
# non-zero naming the section and cell, and leaves no _build/html. CLASSROOM=1 builds
# the site for a class: solutions hidden, only student notebooks of the exercises.
CLASSROOM ?=
book: $(STAMP)  ## build the website (both frameworks) -> _build/html; CLASSROOM=1 hides solutions
	mkdir -p $(NO_DATA)
	$(KERNEL_THREADS) $(PY) -m coursetools site --execute --jobs $(JOBS) \
	  --executed $(EXECUTED) --no-data "$${RECSYS_MOVIELENS_HOME:-$(NO_DATA)}" \
	  $(if $(filter 1 yes true,$(CLASSROOM)),--classroom)

# Debian packages, installed when their command is missing (as root; otherwise the
# apt-get line is printed): one `apt-get update` for all that are missing.
define apt_install
	@missing=""; for pair in $(1); do \
	  command -v "$${pair#*:}" > /dev/null || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing > /dev/null; \
	  else echo "$(2) needs:$$missing: sudo apt-get install -y$$missing"; exit 1; fi; fi
endef

system-deps:  ## install Debian's chromium and bubblewrap (root, once)
	$(call apt_install,chromium:chromium bubblewrap:bwrap,The test suite)

browser-deps:  ## install Debian's chromium for the browser test (root, once)
	$(call apt_install,chromium:chromium,The browser test)

sandbox-deps:  ## install Debian's bubblewrap, the grader's sandbox (root, once)
	$(call apt_install,bubblewrap:bwrap,Grading)

# The test command, in three runs:
# 1. stage: every section's notebooks as CI executes them (coursetools/build.py):
#    each framework's edition, each parity section, the student exercises, the
#    MovieLens sections on the stand-in;
# 2. one pytest run on JOBS workers: the unit tests, and every staged notebook through
#    nbmake (--overwrite keeps the outputs: the website renders them, the checks read
#    them); a chapter's sections in one framework run in order on one worker; every
#    test's seconds are kept in _build/test-times.xml (JUnit XML: where a run's time
#    goes);
# 3. the checks on the executed notebooks (every exercise check correct, the student
#    stubs not attempted), the website built from those executions (no notebook runs
#    again; each site on its own worker, under its own file lock, so a test that reads
#    both waits for the other's build), then the browser tests on JOBS workers (they
#    reuse the sites; one chromium per worker, a fresh browser context per test).
# JOBS notebooks run at once, so each kernel gets one thread (two kernels with two
# threads each on two cores wait on each other).
KERNEL_THREADS := OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
EXECUTED ?= _executed
STANDIN := _build/standin
NO_DATA := _build/no-data
NOTEBOOK_TIMEOUT ?= 900
NBMAKE := -p coursetools.pytest_plugin --nbmake --overwrite \
  --nbmake-timeout=$(NOTEBOOK_TIMEOUT) --movielens-standin $(STANDIN) --no-data $(NO_DATA)
test: $(STAMP) system-deps  ## run the whole test suite: units, notebooks, book build, browser
	rm -rf $(EXECUTED) _build/cache $(NO_DATA) && mkdir -p $(NO_DATA)
	$(PY) -m coursetools stage $(EXECUTED)
	$(PY) tests/movielens_standin.py $(STANDIN)
	$(KERNEL_THREADS) RECSYS_CACHE_DIR=$(CURDIR)/_build/cache $(BIN)/pytest -n $(JOBS) \
	  --dist loadgroup $(NBMAKE) -m "not browser and not executed and not book" \
	  --durations=40 --junitxml=_build/test-times.xml $(EXECUTED) tests
	$(BIN)/pytest -n $(JOBS) --dist loadgroup -m "executed or book" tests
	$(BIN)/pytest -n $(JOBS) -m browser tests/book

stage: $(STAMP)  ## write the notebooks that CI executes and the website renders -> _executed/
	$(PY) -m coursetools stage $(EXECUTED)

movielens-results: $(STAMP)  ## run the MovieLens sections on the real data (RECSYS_DATA_HOME) -> recsys_utils/results/movielens/
	$(PY) -m coursetools record-movielens

export: $(STAMP)  ## recsys_utils/book/chNN*.py from the notebooks' cells tagged export
	$(PY) -m coursetools export

test-unit: $(STAMP)  ## only the fast unit tests (no notebook, no book)
	$(BIN)/pytest -n $(JOBS) -m "not book and not browser and not executed and not install and not grading"

lab: $(STAMP)  ## open the chapters in JupyterLab
	$(BIN)/jupyter lab chapters/

# The measuring commands (benchmarks/*.py; each over every section that
# coursetools.sections.discover() finds, each notebook in a fresh kernel through
# nbmake's runner). Long: run them by hand, not in CI.
BURNER ?= both
bench: $(STAMP)  ## time each framework's edition of every section, per chapter (REPEAT runs, idle and with one busy core: BURNER=both|off|on) -> benchmarks/notebooks.md
	$(PY) benchmarks/run_notebooks.py --repeat $(REPEAT) --burner $(BURNER)

.PHONY: parity claims stress
PARITY_NOTEBOOKS ?=
parity: $(STAMP)  ## measure every parity check's gap over threads, oneDNN, OpenMP, seeds -> benchmarks/parity.md
	$(PY) benchmarks/parity.py $(PARITY_NOTEBOOKS)

CLAIMS_FRAMEWORKS ?= pytorch
claims: $(STAMP)  ## the room of every asserted claim for seeds 0, 1, 2 -> benchmarks/claims_margins.md
	$(PY) benchmarks/claims_margins.py --frameworks $(CLAIMS_FRAMEWORKS)

STRESS_SEED ?= 0
STRESS_DRAWS ?= 1
stress: $(STAMP)  ## every section, both frameworks, perturbed settings, one busy core -> benchmarks/stress.md
	$(PY) benchmarks/stress.py --draw-seed $(STRESS_SEED) --draws $(STRESS_DRAWS)

editions: $(STAMP)  ## one notebook per framework of every chapter -> _build/editions/
	$(PY) -m coursetools editions chapters _build/editions

student: $(STAMP)  ## student notebooks, one per framework (solutions stubbed) -> student/
	$(PY) -m coursetools student chapters student

RELEASE ?= _build/release
GRADES ?= _build/grades
TIMEOUT ?= 600
MEMORY_GB ?= 6
release: $(STAMP)  ## release folder: student notebooks, solutions, references, kit -> $(RELEASE)
	$(PY) -m coursetools release chapters $(RELEASE)

# Each notebook runs in its own bubblewrap sandbox (Linux); JOBS of them at once.
grade: $(STAMP) sandbox-deps  ## grade SUBMISSIONS=folder/<student>/ -> $(GRADES)/grades.csv
	@if [ -z "$(SUBMISSIONS)" ]; then echo "usage: make grade SUBMISSIONS=folder [JOBS=2]"; exit 1; fi
	$(PY) -m coursetools grade $(SUBMISSIONS) --release $(RELEASE) --out $(GRADES) \
	  --timeout $(TIMEOUT) --memory-gb $(MEMORY_GB) -j $(JOBS)

clean-notebooks: $(STAMP)  ## strip outputs and execution counts from the notebooks
	$(PY) -m coursetools clean chapters/*/*.ipynb

format: $(STAMP)  ## format the code and the notebooks with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP)  ## ruff, the dual-framework rules and the claim checker
	$(BIN)/ruff check .
	$(PY) -m coursetools lint
	$(PY) -m coursetools export --check
	$(PY) -m coursetools claims chapters/*/*.ipynb

clean:  ## remove the built book and caches (keeps .venv)
	rm -rf _build _executed student .pytest_cache
