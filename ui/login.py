"""Logging in to the web chat: a FastAPI app that owns /login, /logout and the session cookie,
with the chat mounted in it as Gradio documents (`gr.mount_gradio_app(...,
auth_dependency=...)`): Gradio asks `current_user` about every request to the page, its
files and its API, and answers 401 when it returns None.

A request is someone's when it carries a live session cookie, or an API token as
`Authorization: Bearer rag_...` (for `/ask` and the Python client). The client's IP is the
connection's address: X-Forwarded-For counts only from the proxies RAG_FORWARDED_ALLOW_IPS
names (uvicorn's proxy_headers), so a client cannot pick the IP it is throttled as.
"""

from __future__ import annotations

import html
import math
from string import Template

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rag.team import Team, User

COOKIE = "rag_session"
LOGIN_PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rag-chat: log in</title>
<style>
body { font-family: ui-sans-serif, system-ui, sans-serif; display: grid; place-items: center; min-height: 90vh; }
form { display: grid; gap: .6rem; width: min(22rem, 90vw); }
input, button { font: inherit; padding: .5rem; }
.error { color: #b00020; min-height: 1.2em; }
</style></head>
<body><form method="post" action="/login">
<h1>rag-chat</h1>
<p class="error" id="login-error" role="alert">$message</p>
<label>Name <input name="username" id="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
<button type="submit" id="login">Log in</button>
</form></body></html>
""")


def login_page(message: str = "", status: int = 200, headers: dict | None = None) -> HTMLResponse:
    """The login form; `message` is escaped here, whatever it holds."""
    return HTMLResponse(LOGIN_PAGE.substitute(message=html.escape(message)), status, headers)


def client_ip(request: Request | gr.Request | None) -> str | None:
    """The connection's address of a FastAPI or Gradio request (None: no request, as in tests)."""
    client = getattr(request, "client", None)
    return client.host if client else None


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https, directly or through a TLS-terminating proxy
    (X-Forwarded-Proto: trusting it can only make the cookie stricter)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


class Logins:
    """The routes and the request-to-user lookup of one server."""

    def __init__(self, team: Team):
        self.team = team

    def user(self, request: Request) -> User | None:
        token = request.cookies.get(COOKIE)
        user = self.team.sessions.user(token) if token else None
        if user is None:
            scheme, _, credential = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer":
                user = self.team.accounts.user_for_token(credential.strip())
        return user

    async def current_user(self, request: Request) -> str | None:
        """Gradio's auth_dependency: the name of whoever sent the request, or None."""
        user = await run_in_threadpool(self.user, request)
        return user.name if user else None

    def log_in(self, name: str, password: str, ip: str, secure: bool) -> Response:
        audit = self.team.audit
        wait = self.team.throttle.retry_after(ip, name)
        if wait is not None:
            seconds = math.ceil(wait)
            audit.record("login throttled", user=name, ip=ip, retry_after=seconds)
            return login_page(f"Too many failed logins: try again in {seconds} s.", 429,
                              {"Retry-After": str(seconds)})
        user = self.team.accounts.verify(name, password)
        if user is None:
            self.team.throttle.failed(ip, name)
            audit.record("login failed", user=name, ip=ip)
            return login_page("Wrong name or password.", 401)
        audit.record("login", user=user.name, ip=ip)
        response = RedirectResponse("/", 303)
        response.set_cookie(COOKIE, self.team.sessions.start(user), max_age=int(self.team.sessions.seconds),
                            httponly=True, samesite="lax", secure=secure, path="/")
        return response

    def log_out(self, request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token:
            user = self.team.sessions.user(token)
            self.team.sessions.end(token)
            if user:
                self.team.audit.record("logout", user=user.name, ip=client_ip(request))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
        return response


def login_app(logins: Logins) -> FastAPI:
    """The app the chat is mounted in: /login, /logout, and the page itself sends whoever is
    not logged in to /login (Gradio would answer 401)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/login")
    async def login_form() -> HTMLResponse:
        return login_page()

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        ip = client_ip(request) or "unknown"
        return await run_in_threadpool(logins.log_in, name, password, ip, is_https(request))

    @app.api_route("/logout", methods=["GET", "POST"])
    async def logout(request: Request) -> Response:
        return await run_in_threadpool(logins.log_out, request)

    @app.middleware("http")
    async def login_first(request: Request, call_next):
        if request.method == "GET" and request.url.path == "/" and await logins.current_user(request) is None:
            return RedirectResponse("/login", 303)
        return await call_next(request)

    return app
