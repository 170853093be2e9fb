# Two commands do all set-up on a fresh clone (network: package registries only):
#   make demo   - create .venv, build and install kgalign, run `kgalign demo`
#   make test   - the same set-up, then the whole test suite
#   make lint   - ruff (lint + format check), mypy and the import-layer contract (CI runs it)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml CMakeLists.txt $(wildcard csrc/*.cpp csrc/*.hpp)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# CPU build of torch first (lies on local disk here); an unpinned torch pulls CUDA.
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PY) -m pip install --no-build-isolation -e ".[test,plots,lm,dev,fast,faiss,ray,partition,ja]"
	# the pinned transformers / sentence-transformers / adapters set must resolve together
	$(PY) -m pip check
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/kgalign demo

test: install
	$(PY) -m pytest -q tests

lint: install
	$(VENV)/bin/ruff check kgalign tests benchmarks
	$(VENV)/bin/ruff format --check kgalign tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf build $(VENV)
