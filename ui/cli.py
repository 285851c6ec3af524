"""`rag serve`: registered with the rag command as a plugin (entry point `rag.commands`)."""

from __future__ import annotations

import click

from rag import RagError, Settings


@click.command()
@click.option("--host", default=None, help="Address to bind (default: RAG_UI_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: RAG_UI_PORT, 7860).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web chat (with a login once `rag users add` has created accounts)."""
    from ui.app import serve as serve_chat

    overrides = {name: value for name, value in (("ui_host", host), ("ui_port", port)) if value is not None}
    try:
        serve_chat(Settings.from_env(**overrides))
    except RagError as exc:
        raise click.ClickException(str(exc)) from None
