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

# FreeDict bilingual dictionaries (dictd format, Debian packages) for the offline fallback's
# glosses of vocabulary labels (kgalign/aligner/freedict.py): every X-eng, plus eng-ara (read
# reversed too) and eng-rus + X-rus (Russian: no rus-eng; pivots through German, Polish, French,
# Greek, Italian, Dutch, Swedish, merged by vote); ~58 MB
# download, ~83 MB in $(VENV)/share/dictd. Best effort: without apt-get one line says so.
FREEDICT ?= afr-eng ara-eng ces-eng cym-eng dan-eng deu-eng ell-eng epo-eng fin-eng fra-eng gle-eng \
	hrv-eng hun-eng isl-eng ita-eng jpn-eng kha-eng kur-eng lat-eng lit-eng nld-eng pol-eng por-eng \
	slk-eng slv-eng spa-eng srp-eng swe-eng swh-eng tur-eng eng-ara eng-rus deu-rus \
	pol-rus fra-rus ell-rus ita-rus nld-rus swe-rus
DICTD  := $(abspath $(VENV))/share/dictd
# Princeton WordNet 3.0 (Debian wordnet-base, ~6 MB download) for the English synonyms of the
# sense-overlap view (kgalign/aligner/wordnet.py); best effort like FreeDict
WORDNET := $(abspath $(VENV))/share/wordnet

.PHONY: install demo test lint bench clean freedict wordnet

$(VENV)/.installed: pyproject.toml CMakeLists.txt $(wildcard csrc/*.cpp csrc/*.hpp)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# CPU build of torch first (lies on local disk here); an unpinned torch pulls CUDA.
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PY) -m pip install --no-build-isolation -e ".[test,plots,lm,dev,fast,faiss,ray,partition,ja,freedict]"
	# the pinned transformers / sentence-transformers / adapters set must resolve together
	$(PY) -m pip check
	-$(MAKE) --no-print-directory freedict
	-$(MAKE) --no-print-directory wordnet
	touch $@

install: $(VENV)/.installed

freedict:
	@mkdir -p $(DICTD)
	@if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d); missing=""; \
	  for d in $(FREEDICT); do \
	    [ -f $(DICTD)/freedict-$$d.index ] && continue; \
	    if (cd $$tmp && apt-get download -qq dict-freedict-$$d >/dev/null 2>&1) \
	       && dpkg-deb -x $$tmp/dict-freedict-$${d}_*.deb $$tmp/x; then :; else missing="$$missing $$d"; fi; \
	  done; \
	  cp $$tmp/x/usr/share/dictd/freedict-* $(DICTD)/ 2>/dev/null; rm -rf $$tmp; \
	  [ -z "$$missing" ] || echo "FreeDict dictionaries missing (apt-get download failed):$$missing"; \
	else echo "apt-get not found: FreeDict dictionaries missing ($(FREEDICT)); vocabulary labels are transliterated, not glossed"; fi

wordnet:
	@mkdir -p $(WORDNET)
	@if [ -f $(WORDNET)/index.noun ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d); \
	  if (cd $$tmp && apt-get download -qq wordnet-base >/dev/null 2>&1) && dpkg-deb -x $$tmp/wordnet-base_*.deb $$tmp/x; then \
	    cp $$tmp/x/usr/share/wordnet/index.* $$tmp/x/usr/share/wordnet/data.* $(WORDNET)/; \
	  else echo "WordNet missing (apt-get download wordnet-base failed): no English synonyms"; fi; rm -rf $$tmp; \
	else echo "apt-get not found: WordNet missing (wordnet-base); no English synonyms"; fi

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
