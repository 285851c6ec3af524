"""All configuration in one typed object, read from `RAG_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True)

    home: Path = Field(Path(".rag"), description="Where the index lives")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded")
    chroma_port: int = Field(8000, description="Chroma server port")
    embed_model: str | None = Field(None, description="sentence-transformers model folder")
    generator: str = Field("extractive", description="Answerer: extractive")
    k: int = Field(5, ge=1, le=50, description="Passages retrieved per question")
    min_evidence: float = Field(
        0.48, description="Refuse below this evidence score (calibrated, see README)"
    )
    max_question_chars: int = Field(4000, ge=1)

    def index_args(self) -> dict:
        """The explicit arguments index/ takes."""
        return {
            "home": self.home,
            "embed_model": self.embed_model,
            "chroma_host": self.chroma_host,
            "chroma_port": self.chroma_port if self.chroma_host else None,
        }
