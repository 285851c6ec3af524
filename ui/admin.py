"""The Accounts panel of the web chat: admins list, add and remove accounts (what `rag users`
does). It is shown to admins only, and every action checks again on the server that whoever
sent it is an admin: hiding a panel protects nothing."""

from __future__ import annotations

import gradio as gr

from rag import RagError
from rag.team import Team
from rag.team.accounts import generated_password
from ui import render
from ui.login import client_ip


class AdminPanel:
    def __init__(self, team: Team):
        self.team = team

    def build(self, app: gr.Blocks, options: dict) -> None:
        """The panel's components and events, in `app` (being built); `options` go to every
        event (the page's: kept out of the API)."""
        with gr.Accordion("Accounts", open=False, visible=False, elem_id="accounts") as panel:
            listing = gr.HTML(elem_id="accounts-list")
            name = gr.Textbox(label="Account name", elem_id="account-name")
            admin = gr.Checkbox(label="Admin", elem_id="account-admin")
            with gr.Row():
                add = gr.Button("Add (password generated, shown once)", size="sm", elem_id="account-add")
                remove = gr.Button("Remove", size="sm", elem_id="account-remove")
            status = gr.HTML(elem_id="account-status")
        app.load(self.show, None, [panel, listing], **options)
        add.click(self.add, [name, admin], [status, listing], **options)
        remove.click(self.remove, name, [status, listing], **options)

    def show(self, request: gr.Request):
        """-> (the panel, visible to admins only; the accounts)"""
        admin = self._admin(request)
        return gr.Accordion(visible=admin is not None), self._listing() if admin else ""

    def add(self, name: str, is_admin: bool, request: gr.Request):
        def do(by: str) -> str:
            password = generated_password()
            self.team.accounts.add(name.strip(), password, is_admin=is_admin)
            self.team.audit.record("user added", user=by, ip=client_ip(request), account=name.strip(), admin=is_admin)
            return f"Added {name.strip()}. Password (shown once): {password}"

        return self._as_admin(request, do)

    def remove(self, name: str, request: gr.Request):
        def do(by: str) -> str:
            if name.strip() == by:
                raise RagError("you cannot remove your own account here (`rag users remove` can)")
            self.team.accounts.remove(name.strip())
            self.team.audit.record("user removed", user=by, ip=client_ip(request), account=name.strip())
            return f"Removed {name.strip()}; its sessions and tokens no longer work, its grants and conversations are gone."

        return self._as_admin(request, do)

    def _as_admin(self, request: gr.Request, do) -> tuple[str, str]:
        """-> (status, accounts) after `do(admin's name)`, refused to anyone but an admin."""
        admin = self._admin(request)
        if admin is None:
            return render.error_html("Only an admin manages accounts."), ""
        try:
            status = render.text_html(do(admin), "rag-status")
        except RagError as exc:
            status = render.error_html(str(exc))
        return status, self._listing()

    def _admin(self, request: gr.Request) -> str | None:
        name = getattr(request, "username", None)
        try:
            user = self.team.accounts.require(name) if name else None
        except RagError:
            return None
        return user.name if user and user.is_admin else None

    def _listing(self) -> str:
        return "".join(render.text_html(f"{user.name}{' (admin)' if user.is_admin else ''}", "rag-account")
                       for user in self.team.accounts.users())

