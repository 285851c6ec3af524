"""The web chat's page: layout, events, and serving it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import uvicorn

from rag import SUPPORTED_SUFFIXES, Pipeline, RagError, Settings
from rag import answerers
from rag.team import Team, open_team
from ui.admin import AdminPanel
from ui.chat import Chat
from ui.identity import LoggedIn, current_reader
from ui.login import Logins, login_app
from ui.saved import SavedChats
from ui.tokens import TokenPanel

EXAMPLES = [
    "How much market value did Nvidia lose?",
    "Who founded DeepSeek?",
    "How much did it cost to train DeepSeek-V3?",
]
CSS = Path(__file__).with_name("chat.css").read_text()
# System fonts: the page loads nothing from outside the app.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)
PRIVATE = {"api_visibility": "private"}  # page events; the API is /ask alone
QUESTIONS_AT_ONCE = 32  # answered or waiting for a model; see _wire


@dataclass
class Page:
    history: gr.State
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask: gr.Button
    new_chat: gr.Button
    answerer: gr.Dropdown
    k: gr.Slider
    files: gr.File
    upload_report: gr.HTML
    documents: gr.Radio
    remove: gr.Button
    remove_status: gr.HTML
    model_status: gr.HTML
    model_poll: gr.Timer
    collection: gr.Dropdown  # where uploads go: the collections the user may write to
    conversation: gr.State  # the saved conversation's id; None until its first answer
    saved: gr.Radio
    title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    export_markdown: gr.Button
    export_json: gr.Button
    export: gr.File


def build_app(settings: Settings, team: Team | None = None) -> gr.Blocks:
    """The page; with a team, each question, upload and removal is audited, and once it has
    accounts each event is its logged-in user's (ui/identity.py) and the page has a logout
    button, the user's tokens and, for admins, the accounts."""
    with_accounts = team is not None and team.accounts.exist()
    reader_of = LoggedIn(team.accounts) if with_accounts else current_reader
    chat = Chat(Pipeline(settings.serving()), reader_of, team.audit if team else None)
    # Open the index and load the embedding model now, before requests arrive on parallel
    # threads: chromadb's first client for a folder is not thread-safe, the model loads
    # lazily, and the first question should not wait seconds for either. The panel itself
    # starts empty: what each user may see comes with the page's load event.
    chat.open_index()
    chat.pipeline.warm_models()
    # The configured answerer's model loads and is tried out in the background, and questions
    # asked meanwhile are answered extractively (Chat). Measured on 2 shared cores: the first
    # `verified` answer took 12.8 s without it; after the ~9-10 s warm-up, 3.05 s (later: 3.1-3.6 s).
    chat.warm_up()
    # Gradio keeps its own copy of each upload (ours is in RAG_HOME/uploads): drop it after a day.
    with gr.Blocks(title="rag-chat", analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        page = _layout(settings, logout=with_accounts)
        _wire(app, page, chat, SavedChats(chat))
        if with_accounts:
            AdminPanel(team).build(app, PRIVATE)
            TokenPanel(team).build(app, PRIVATE)
    return app


def _layout(settings: Settings, logout: bool = False) -> Page:
    gr.Markdown(
        "# rag-chat\nAsk questions about your documents. Every answer shows the passages "
        "it comes from, with the cited sentence highlighted."
    )
    if logout:
        gr.Button("Log out", link="/logout", elem_id="logout", size="sm")
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            with gr.Accordion("Conversations"):
                saved = gr.Radio([], label="Saved conversations", elem_id="saved")
                title = gr.Textbox(label="Title", elem_id="conversation-title")
                with gr.Row():
                    rename = gr.Button("Rename", size="sm", elem_id="rename")
                    delete = gr.Button("Delete", size="sm", elem_id="delete")
                with gr.Row():
                    export_markdown = gr.Button("Export Markdown", size="sm", elem_id="export-md")
                    export_json = gr.Button("Export JSON", size="sm", elem_id="export-json")
                export = gr.File(label="Export", elem_id="export", interactive=False)
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation", elem_id="chat", height=620,
                # Our own HTML, in which ui.render escaped every document text: no Markdown,
                # LaTeX or custom tags are interpreted, and the sanitizer stays on too.
                render_markdown=False, sanitize_html=True, latex_delimiters=[], allow_tags=False,
                feedback_options=None, buttons=[],
                examples=[{"text": example} for example in EXAMPLES],
                placeholder="Ask a question below, or start with an example about the seed article.",
            )
            with gr.Row():
                question = gr.Textbox(
                    elem_id="question", show_label=False, scale=5, autofocus=True,
                    placeholder="Ask a question about your documents",
                )
                ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            new_chat = gr.Button("New conversation", elem_id="new-chat", size="sm")
            model_status = gr.HTML(elem_id="model-status")
            # Polls the model's status while it loads; Chat.model_status stops it after.
            model_poll = gr.Timer(1)
        with gr.Column(scale=1, min_width=300):
            with gr.Accordion("Settings"):
                answerer = gr.Dropdown(
                    answerers.available(settings), value=answerers.resolve(settings), label="Answerer",
                    info="extractive quotes sentences, verified has the local model check them; "
                         "local and openai write an answer",
                )
                k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages retrieved")
            with gr.Accordion("Documents"):
                collection = gr.Dropdown([], label="Upload to collection", elem_id="collection")
                files = gr.File(
                    label="Upload documents", file_count="multiple", type="filepath",
                    elem_id="upload", height=140,
                )
                gr.Markdown(
                    f"{' '.join(SUPPORTED_SUFFIXES)}, up to {settings.max_upload_mb} MB each",
                    elem_classes="rag-hint",
                )
                upload_report = gr.HTML(elem_id="upload-report")
                panel = gr.Radio([], label="Indexed documents", elem_id="documents")
                remove = gr.Button("Remove selected document", size="sm", elem_id="remove")
                remove_status = gr.HTML(elem_id="remove-status")
    return Page(
        gr.State([]), chatbot, question, ask, new_chat, answerer, k, files, upload_report, panel,
        remove, remove_status, model_status, model_poll, collection, gr.State(None), saved, title, rename,
        delete, export_markdown, export_json, export,
    )


def _wire(app: gr.Blocks, page: Page, chat: Chat, saved: SavedChats) -> None:
    # Questions share one queue. Inside it, those answered by a model wait for its turn
    # (rag/model_queue.py) and the others run as many at once as there are cores (Chat), so
    # it admits more than the cores: with only the cores, questions waiting for the model
    # would keep an extractive one out. Each question held holds one of the threads Gradio
    # runs sync events in (40, Blocks.launch max_threads): 8 are left for uploads, the
    # model's status and the documents panel. Gradio gives a queue the lowest limit of its
    # events, so every answering event sets it. Index writes share a queue of one.
    answering = {"concurrency_id": "answer", "concurrency_limit": QUESTIONS_AT_ONCE}
    turn = {
        "fn": saved.turn,
        "inputs": [page.question, page.chatbot, page.history, page.answerer, page.k, page.conversation],
        "outputs": [page.question, page.chatbot, page.history, page.conversation, page.saved, page.title],
        **answering,
        **PRIVATE,
    }
    page.question.submit(**turn)
    page.ask.click(**turn)
    page.chatbot.example_select(_example_text, None, page.question, **PRIVATE).then(**turn)
    page.new_chat.click(lambda: ("", [], [], None, None, ""), None,
                        [page.question, page.chatbot, page.history, page.conversation, page.saved, page.title],
                        **PRIVATE)
    page.chatbot.clear(lambda: ([], None), None, [page.history, page.conversation], **PRIVATE)
    _wire_conversations(app, page, saved)
    page.files.upload(
        chat.upload, [page.files, page.collection], [page.files, page.upload_report, page.documents],
        concurrency_id="index", **PRIVATE,
    )
    page.remove.click(
        chat.remove, page.documents, [page.remove_status, page.documents],
        concurrency_id="index", **PRIVATE,
    )
    app.load(chat.documents, None, page.documents, **PRIVATE)
    app.load(chat.collections, None, page.collection, **PRIVATE)
    status = {"fn": chat.model_status, "inputs": page.answerer, "outputs": [page.model_status, page.model_poll],
              "show_progress": "hidden", **PRIVATE}
    app.load(**status)
    page.model_poll.tick(**status)
    page.answerer.change(**status)  # choosing an answerer starts loading its model
    gr.api(chat.ask, api_name="ask", **answering)


def _wire_conversations(app: gr.Blocks, page: Page, saved: SavedChats) -> None:
    app.load(saved.sidebar, None, page.saved, **PRIVATE)
    # .input, not .change: the sidebar's value is also set when a turn is saved.
    page.saved.input(saved.open, page.saved, [page.chatbot, page.history, page.conversation, page.title],
                     **PRIVATE)
    page.rename.click(saved.rename, [page.conversation, page.title], page.saved, **PRIVATE)
    page.delete.click(saved.delete, page.conversation,
                      [page.chatbot, page.history, page.conversation, page.title, page.saved], **PRIVATE)
    page.export_markdown.click(saved.export_markdown, page.conversation, page.export, **PRIVATE)
    page.export_json.click(saved.export_json, page.conversation, page.export, **PRIVATE)


def launch(app: gr.Blocks, settings: Settings, **options):
    """Start serving `app` as configured, without logins; `options` go to Blocks.launch
    (tests pass prevent_thread_lock and a free port)."""
    options = {"server_name": settings.ui_host, "server_port": settings.ui_port, **options}
    return app.launch(max_file_size=f"{settings.max_upload_mb}mb", css=CSS, theme=THEME, **options)


def with_logins(app: gr.Blocks, settings: Settings, team: Team):
    """The page behind the login: mounted in the FastAPI app that owns /login and /logout."""
    logins = Logins(team)
    return gr.mount_gradio_app(
        login_app(logins), app, path="/", auth_dependency=logins.current_user,
        max_file_size=f"{settings.max_upload_mb}mb", css=CSS, theme=THEME,
    )


class ServeError(RagError):
    """The web chat cannot listen where it is configured to (the port is taken, say)."""


def exposure_problem(settings: Settings, has_accounts: bool) -> str | None:
    """Why the chat must not be served as configured: reachable from other machines with
    nobody to log in."""
    if has_accounts or _is_loopback(settings.ui_host):
        return None
    return (
        f"refusing to serve on {settings.ui_host} without a login: anyone who can reach this machine "
        "could read and change your documents. Create an account with `rag users add NAME --admin`, "
        "or serve on 127.0.0.1."
    )


def serve(settings: Settings) -> None:
    """Serve the chat: with a login when there are accounts; without one only on loopback."""
    team = open_team(settings)
    has_accounts = team.accounts.exist()
    problem = exposure_problem(settings, has_accounts)
    if problem:
        raise ServeError(problem)
    app = build_app(settings, team)
    try:
        if has_accounts:
            print(f"Serving on http://{settings.ui_host}:{settings.ui_port} (log in at /login)", flush=True)
            uvicorn.run(with_logins(app, settings, team), host=settings.ui_host, port=settings.ui_port,
                        proxy_headers=bool(settings.forwarded_allow_ips),
                        forwarded_allow_ips=settings.forwarded_allow_ips, log_level="warning")
        else:
            launch(app, settings)
    except OSError as exc:
        raise ServeError(f"cannot serve on {settings.ui_host}:{settings.ui_port}: {exc}") from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _example_text(event: gr.SelectData) -> str:
    return event.value["text"]
