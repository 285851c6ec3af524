"""Who is using the web chat: the one place the page asks, for reading rights, uploads and
saved conversations.

Without accounts (the loopback chat, or a server started before the first account) the user
is the local admin, who reads every collection, as before collections existed. With them,
the page is mounted behind the login (ui/login.py): Gradio puts the name of the session's or
API token's user, as `Logins.current_user` found it, on every request, and the account says
whether they are an admin, read afresh so that a demotion or removal counts at once.
"""

from __future__ import annotations

import gradio as gr

from rag.access import LOCAL_ADMIN
from rag.team import Accounts, AccountError, User


def current_reader(request: gr.Request | None) -> User:
    """The user behind a page event or an /ask call on a server without logins."""
    return LOCAL_ADMIN


class LoggedIn:
    """The user behind a request to a server with logins."""

    def __init__(self, accounts: Accounts):
        self.accounts = accounts

    def __call__(self, request: gr.Request | None) -> User:
        name = getattr(request, "username", None)
        try:
            return self.accounts.require(name or "")
        except AccountError:
            raise gr.Error("You are not logged in, or your account was removed: log in again.") from None
