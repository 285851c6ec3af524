"""All configuration in one typed object, read from `RAG_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import IndexConfig
from rag.errors import SettingsError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True, populate_by_name=True)

    # Index
    home: Path = Field(Path(".rag"), description="Where the index lives")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded")
    chroma_port: int = Field(8000, description="Chroma server port")
    embed_model: str | None = Field(None, description="sentence-transformers model folder")
    embed_precision: Literal["auto", "bf16", "float32"] = Field(
        "auto", description="Float of batched embedding; auto: bf16 where the CPU has AVX512-BF16 or AMX, else float32",
    )
    database_url: str | None = Field(
        None, pattern=r"^postgres(ql)?://",
        description="PostgreSQL for the catalog and keyword search, shared by replicas; unset = SQLite under RAG_HOME",
    )
    database_prefix: str = Field(
        "rag", pattern=r"^[a-z][a-z0-9_]{0,30}$",
        description="Prefix of the index's schemas in RAG_DATABASE_URL: indexes with others share a database",
    )
    # 10,000: below it exact search starts ~0.6 s sooner than Chroma and each question's search
    # costs as little (~1 ms); at 20,000 a search took ~7 ms against Chroma's ~1.5 (its 30 MB of
    # vectors outgrow the cache), at 50,000 opening took 0.5-0.8 s (index/vectors/exact.py).
    exact_search_below: int = Field(
        10000, ge=0,
        description="Questions search a local index of fewer chunks exactly over the catalog's vectors, "
                    "without opening Chroma (~0.6 s less per process start); 0 = always Chroma",
    )

    # Answers
    answerer: Literal["auto", "extractive", "verified", "local", "openai"] = Field(
        "auto",
        description="auto: verified when the local model is installed, else extractive",
    )
    k: int = Field(5, ge=1, le=50, description="Passages retrieved per question")
    min_confidence: float | None = Field(
        None, ge=0, le=1, description="Refuse below this confidence; unset = the calibrated threshold"
    )
    max_question_chars: int = Field(4000, ge=1)
    # A question's reading took 110 ms on torch in bf16 against 285 on numpy (2 idle cores),
    # and importing torch 2 s: a one-question `rag ask` would pay more than it saved.
    reader_backend: Literal["auto", "numpy", "torch"] = Field(
        "auto", description="What runs the reader model: numpy, or torch (bf16 where the CPU has it; "
                            "2 s more to start, each question faster); auto: torch in the web chat and a "
                            "Python ask(), numpy in `rag ask` and `rag eval`",
    )

    # Language models
    llm_model: Path | None = Field(None, description="GGUF file for `local`; default: the packaged one")
    model_cache: Path = Field(
        Path.home() / ".cache" / "rag-chat", description="Where the packaged GGUF is assembled"
    )
    llm_max_tokens: int = Field(160, ge=16, description="Cap on generated tokens per answer")
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
    openai_model: str = Field("gpt-4o-mini", description="Model name at that endpoint")
    openai_api_key: str | None = Field(None, description="API key, when the endpoint needs one")

    # Web chat
    ui_host: str = Field("127.0.0.1", description="Address the web chat binds to")
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the web chat")
    ui_auth: str | None = Field(None, description="Removed: accounts replaced it (docs/team.md)")
    max_upload_mb: int = Field(50, ge=1, description="Largest document accepted by upload")
    admins_see_conversations: bool = Field(
        False, description="Admins may read every user's saved conversations; unset = each user sees only their own"
    )

    # A team: accounts, sessions, login throttling, audit (docs/team.md)
    session_hours: float = Field(12, gt=0, description="How long a login lasts")
    login_attempts: int = Field(5, ge=1, description="Failed logins in a window before 429s")
    login_window_seconds: float = Field(300, gt=0, description="The window failed logins are counted in")
    audit_questions: bool = Field(True, description="Record each question asked in the audit log")
    forwarded_allow_ips: str | None = Field(
        None, description="Proxies trusted for X-Forwarded-For (comma-separated); unset = none"
    )

    @field_validator("ui_auth")
    @classmethod
    def _ui_auth_moved(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("RAG_UI_AUTH was replaced by accounts: unset it and create one with "
                             "`rag users add NAME --admin` (docs/team.md)")
        return value

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """The settings from the `RAG_*` environment (and `overrides`); a value a setting
        cannot take is a SettingsError naming the variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            field = cls.model_fields.get(name.removeprefix("RAG_").lower())
            variable = name if name.startswith("RAG_") else f"RAG_{name.upper()}"
            about = f" ({field.description})" if field and field.description else ""
            raise SettingsError(f"invalid {variable}: {error['msg']}{about}") from None

    def serving(self) -> Settings:
        """These settings for a process that answers many questions (the web chat, a Python
        `ask()`): `auto` runs the reader on torch there."""
        if self.reader_backend != "auto":
            return self
        return self.model_copy(update={"reader_backend": "torch"})

    @property
    def index_config(self) -> IndexConfig:
        """What index/ is told: where the index is and what builds it."""
        return IndexConfig(self.home, self.embed_model, self.chroma_host, self.chroma_port, self.database_url,
                           self.database_prefix, self.embed_precision)
