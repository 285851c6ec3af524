"""The "My API tokens" panel of the web chat: whoever is logged in creates (shown once), lists
and revokes their own tokens, as `rag tokens` does for any account."""

from __future__ import annotations

import gradio as gr

from rag import RagError
from rag.team import Team
from rag.team.audit import utc
from ui import render
from ui.login import client_ip


class TokenPanel:
    def __init__(self, team: Team):
        self.team = team

    def build(self, app: gr.Blocks, options: dict) -> None:
        """The panel's components and events, in `app` (being built); `options` go to every event."""
        with gr.Accordion("My API tokens", open=False, elem_id="tokens"):
            listing = gr.HTML(elem_id="tokens-list")
            label = gr.Textbox(label="What the new token is for", elem_id="token-label")
            create = gr.Button("Create a token (shown once)", size="sm", elem_id="token-create")
            token_id = gr.Textbox(label="Id of the token to revoke", elem_id="token-id")
            revoke = gr.Button("Revoke", size="sm", elem_id="token-revoke")
            status = gr.HTML(elem_id="token-status")
        app.load(self.listing, None, listing, **options)
        create.click(self.create, label, [status, listing], **options)
        revoke.click(self.revoke, token_id, [status, listing], **options)

    def create(self, label: str, request: gr.Request) -> tuple[str, str]:
        def do(name: str) -> str:
            token = self.team.accounts.create_token(name, label.strip())
            self.team.audit.record("token created", user=name, ip=client_ip(request), account=name, label=label.strip())
            return f"Your new token (shown once; send it as Authorization: Bearer ...): {token}"

        return self._for_user(request, do)

    def revoke(self, token_id: str, request: gr.Request) -> tuple[str, str]:
        def do(name: str) -> str:
            self.team.accounts.revoke_token(name, token_id.strip())
            self.team.audit.record("token revoked", user=name, ip=client_ip(request), account=name, token=token_id.strip()[:12])
            return f"Revoked {token_id.strip()[:12]}."

        return self._for_user(request, do)

    def listing(self, request: gr.Request) -> str:
        name = getattr(request, "username", None)
        if not name:
            return ""
        rows = []
        for token in self.team.accounts.tokens(name):
            state = f"revoked {utc(token.revoked)}" if token.revoked else "live"
            rows.append(render.text_html(f"{token.id}  {utc(token.created)}  {state}  {token.label}", "rag-token"))
        return "".join(rows) or render.text_html("No tokens yet.", "rag-token")

    def _for_user(self, request: gr.Request, do) -> tuple[str, str]:
        name = getattr(request, "username", None)
        if not name:
            return render.error_html("Log in to manage your tokens."), ""
        try:
            status = render.text_html(do(name), "rag-status")
        except RagError as exc:
            status = render.error_html(str(exc))
        return status, self.listing(request)

