# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Scanned PDF pages are read by Debian's tesseract and its English data (index/formats/ocr.py),
# installed when missing, like Chromium below.
TESSERACT = command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx eng \
	|| (apt-get update && apt-get install -y tesseract-ocr tesseract-ocr-eng)
# The dev corpora of real documentation sites (bench/corpora.py, tests/test_corpora.py):
# Debian's Sphinx build of the Python docs, PostgreSQL's DocBook HTML, pip's Markdown guide.
DOC_CORPORA = test -d /usr/share/doc/python3.11/html && test -d /usr/share/doc/postgresql-doc-15/html \
	&& test -d /usr/share/doc/python3-pip/html \
	|| (apt-get update && apt-get install -y python3-doc postgresql-doc-15 python3-pip)
EXTRAS ?= test,local,ui,bench,postgres,docs

.PHONY: run index test test-fast soak bench docs train-reader install clean

# Reinstall when the dependency list changes; constraints.txt pins what was tested
# (torch 2.13.0 CPU: an unpinned torch pulls a multi-GB CUDA build).
$(VENV)/.installed-$(EXTRAS): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

install: $(VENV)/.installed-$(EXTRAS)

index: install
	$(BIN)/rag ingest seeds

run: index
	@echo
	@echo "Indexed seeds/. Ask from the command line:"
	@echo "  $(BIN)/rag ask \"How much market value did Nvidia lose?\""
	@echo "or in the web chat below (Ctrl-C stops it)."
	@$(TESSERACT)
	$(BIN)/rag serve

# The browser tests drive Debian's Chromium (CI runs as root; a test tool's own browser
# download does not work offline).
test: install
	command -v chromium >/dev/null && command -v chromedriver >/dev/null \
		|| (apt-get update && apt-get install -y chromium chromium-driver)
	$(TESSERACT)
	$(DOC_CORPORA)
	# The catalog suite and the replica tests start Debian's PostgreSQL (initdb in a temporary folder).
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| (apt-get update && apt-get install -y postgresql)
	$(BIN)/python -m pytest

# The inner loop, under a minute on 2 cores: no browser, no local model, no crash trials,
# no Chroma server, no `rag` processes or load runs, no tesseract (the marks in pyproject.toml):
# it needs only what `make install` set up, so it passes on a machine without apt-get rights.
test-fast: install
	$(BIN)/python -m pytest -m "not browser and not llm and not crash and not server and not slow and not soak and not ocr"

# Long reliability runs: 100 SIGKILLs mid-ingest at random moments, a 50 MB file's memory.
soak: install
	$(BIN)/python -m pytest -m soak -s

# Benchmarks against baselines measured in the same run; FULL=1 adds the 100k-chunk runs.
bench: install
	$(DOC_CORPORA)
	$(BIN)/python bench/run.py $(if $(FULL),--full,)

# docs/ as a site in site/ (MkDocs, Material theme); strict: a broken link fails the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Retrain the reader (rag/reader.py) from ../shared/train/squad2 with a fixed seed, niced (the
# cores are shared); writes rag/data/reader/ (weights and MODEL_CARD.md).
train-reader: install
	nice -n 10 $(BIN)/python bench/train_reader.py

clean:
	rm -rf $(VENV) .rag site
