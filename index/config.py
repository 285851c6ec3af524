"""Where an index lives and what builds it: everything index/ is told from outside."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IndexConfig:
    home: Path = Path(".rag")
    embed_model: str | None = None  # a sentence-transformers folder; None: the packaged model
    chroma_host: str | None = None  # a Chroma server; None: Chroma embedded under `home`
    chroma_port: int = 8000
    database_url: str | None = None  # a PostgreSQL catalog; None: SQLite files under `home`
    database_prefix: str = "rag"  # the index's names in that database: several indexes can share one
    embed_precision: str = "auto"  # auto | bf16 | float32: index/vectors/precision.py

    def __post_init__(self):
        object.__setattr__(self, "home", Path(self.home))
