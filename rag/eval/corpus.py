"""The index a gold set's questions are asked against. A set that brings its corpus
(ClapNQ, SQuAD), or a `--corpus` folder, is indexed into a cached index of its own under
RAG_HOME/eval, never into the user's index; re-running embeds nothing new."""

from __future__ import annotations

import hashlib
from pathlib import Path

from index import StoreError, ingest
from rag.errors import GoldFileError
from rag.eval.gold import GoldSet
from rag.settings import Settings


def eval_settings(gold: GoldSet, settings: Settings, corpus: Path | None = None,
                  progress: bool = False) -> Settings:
    """The settings to ask a gold set's questions with: those of its own index when it
    brings a corpus or `corpus` is given, otherwise `settings` (the user's index)."""
    if gold.corpus and corpus:
        raise GoldFileError(f"the {gold.name} gold set brings its own corpus: leave out --corpus")
    cache = settings.home / "eval"
    try:
        if gold.corpus:
            return _indexed(_write_corpus(gold, cache / gold.name / "docs"), cache / gold.name, settings, progress)
        if corpus:
            return _indexed(Path(corpus), cache / _folder_name(Path(corpus)), settings, progress)
    except OSError as exc:  # ingest's are StoreErrors, but not a file system's: RAG_HOME not writable, disk full
        raise StoreError(f"cannot build the eval index under {cache}: {exc.strerror or exc}") from None
    return settings


def eval_pipeline(gold: GoldSet, settings: Settings, corpus: Path | None = None, progress: bool = False):
    """The pipeline that asks a gold set's questions (`rag eval`, bench/calibrate.py): on
    the index `eval_settings` gives, its models loaded once per process."""
    from rag.pipeline import pipeline_for  # here: rag.pipeline loads LangChain's retriever types

    return pipeline_for(eval_settings(gold, settings, corpus, progress))


def _indexed(docs: Path, folder: Path, settings: Settings, progress: bool) -> Settings:
    """`settings` asking the index of `docs` at folder/index, brought in step with them."""
    # Eval indexes keep their vectors embedded, even when the user's index is on a Chroma
    # server; with RAG_DATABASE_URL their catalog is in that database, under a prefix of its
    # own (the PostgreSQL keyword side is measured this way: README, Deploy for a team).
    prefix = f"{settings.database_prefix}_eval_{hashlib.sha256(str(folder).encode()).hexdigest()[:10]}"
    asked = settings.model_copy(update={"home": folder / "index", "chroma_host": None, "database_prefix": prefix})
    ingest([str(docs)], asked.index_config, progress=progress)
    return asked


def _write_corpus(gold: GoldSet, docs: Path) -> Path:
    """The gold set's corpus as files in `docs`; those already written are left alone."""
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in gold.corpus.items():
        path = docs / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
    return docs


def _folder_name(corpus: Path) -> str:
    """The cache folder of a `--corpus` path: its name and a hash of where it is."""
    resolved = corpus.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return f"{resolved.name}-{digest}"
