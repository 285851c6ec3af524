# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= test,local,ui

.PHONY: run index test install clean

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
	@echo "Indexed seeds/. Ask a question:"
	@echo "  $(BIN)/rag ask \"How much market value did Nvidia lose?\""

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .rag
