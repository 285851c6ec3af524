"""Who is using the web chat: the one place the page asks, for reading rights, uploads and
saved conversations.

Without accounts (today's loopback chat, or RAG_UI_AUTH's one shared login) the user is the
local admin, who reads every collection, as before collections existed. Accounts and their
login session are looked up here once they exist.
"""

from __future__ import annotations

import gradio as gr

from rag.access import LOCAL_ADMIN, Reader


def current_reader(request: gr.Request | None) -> Reader:
    """The user behind a page event or an /ask call."""
    return LOCAL_ADMIN
