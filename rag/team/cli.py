"""`rag users`, `rag tokens` and `rag audit`: a team's accounts from the command line.

Changes made here are audited as done "via cli" by the operating-system user who ran them."""

from __future__ import annotations

import getpass
import json
import re
import time
from datetime import datetime, timezone

import click

from rag.errors import RagError
from rag.settings import Settings
from rag.team import Team, open_team
from rag.team.accounts import generated_password
from rag.team.audit import utc

RELATIVE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _team() -> Team:
    try:
        return open_team(Settings.from_env())
    except RagError as exc:
        raise click.ClickException(str(exc)) from None


def _audited(team: Team, action: str, **detail) -> None:
    team.audit.record(action, via="cli", os_user=getpass.getuser(), **detail)


def audited_from_cli(action: str, **detail) -> None:
    """Record a change made by another command (`rag collections grant`) as this module's are."""
    _audited(_team(), action, **detail)


def _run(do) -> None:
    """Run `do`, a user's mistake shown as an error (exit 1) with nothing changed."""
    try:
        do()
    except RagError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def users() -> None:
    """Accounts of the web chat (stored in the catalog's database)."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May manage the team's documents and collections.")
@click.option("--generate", is_flag=True, help="Generate the password and print it (once).")
def add_user(name: str, admin: bool, generate: bool) -> None:
    """Create the account NAME; its password is asked for twice, or generated."""
    team = _team()
    _run(lambda: team.accounts.check_new(name))  # before asking for a password
    password = generated_password() if generate else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)

    def add():
        team.accounts.add(name, password, is_admin=admin)
        _audited(team, "user added", account=name, admin=admin)

    _run(add)
    click.echo(f"Added {'admin ' if admin else ''}{name}." + (f" Password (shown once): {password}" if generate else ""))


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_users(as_json: bool) -> None:
    """The accounts, admins marked."""
    for user in _team().accounts.users():
        click.echo(json.dumps({"name": user.name, "admin": user.is_admin}) if as_json
                   else f"{user.name}{'  (admin)' if user.is_admin else ''}")


@users.command("remove")
@click.argument("name")
def remove_user(name: str) -> None:
    """Delete the account NAME: its sessions and tokens end at once, its grants and saved
    conversations go with it (the audit log keeps what it did)."""
    team = _team()

    def remove():
        team.accounts.remove(name)
        _audited(team, "user removed", account=name)

    _run(remove)
    click.echo(f"Removed {name}; its sessions and tokens no longer work, its grants and conversations are gone.")


@users.command("passwd")
@click.argument("name")
@click.option("--generate", is_flag=True, help="Generate the password and print it (once).")
def set_password(name: str, generate: bool) -> None:
    """Set a new password for NAME; its sessions end (its tokens stay: revoke them apart)."""
    team = _team()
    _run(lambda: team.accounts.require(name))
    password = generated_password() if generate else click.prompt(
        "New password", hide_input=True, confirmation_prompt=True)

    def change():
        team.accounts.set_password(name, password)
        _audited(team, "password changed", account=name)

    _run(change)
    click.echo(f"Changed the password of {name}; its sessions ended." + (f" Password (shown once): {password}" if generate else ""))


@click.group()
def tokens() -> None:
    """Personal API tokens, for `/ask` and the Python client (Authorization: Bearer TOKEN)."""


@tokens.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
def create_token(name: str, label: str) -> None:
    """Create a token for the user NAME and print it (once)."""
    team = _team()
    result = {}

    def create():
        result["token"] = team.accounts.create_token(name, label)
        _audited(team, "token created", account=name, label=label)

    _run(create)
    click.echo(result["token"])


@tokens.command("list")
@click.argument("name")
def list_tokens(name: str) -> None:
    """The tokens of NAME: id, created, revoked, label."""
    team = _team()
    found = []
    _run(lambda: found.extend(team.accounts.tokens(name)))
    for token in found:
        revoked = f"revoked {utc(token.revoked)}" if token.revoked else "live"
        click.echo(f"{token.id}  created {utc(token.created)}  {revoked}  {token.label}")


@tokens.command("revoke")
@click.argument("name")
@click.argument("token_id")
def revoke_token(name: str, token_id: str) -> None:
    """Revoke the token of NAME whose id (from `rag tokens list`) is TOKEN_ID."""
    team = _team()

    def revoke():
        team.accounts.revoke_token(name, token_id)
        _audited(team, "token revoked", account=name, token=token_id[:12])

    _run(revoke)
    click.echo(f"Revoked the token {token_id[:12]} of {name}.")


@click.command()
@click.option("--since", help="From this time: ISO 8601 (2026-12-06T09:00) or ago (30m, 12h, 7d).")
@click.option("--user", help="Only what this account did.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(since: str | None, user: str | None, as_json: bool) -> None:
    """Read the audit log, oldest first."""
    events = []
    _run(lambda: events.extend(_team().audit.events(since=parse_since(since), user=user)))
    for event in events:
        if as_json:
            click.echo(json.dumps(event.to_dict(), ensure_ascii=False))
            continue
        detail = " ".join(f"{key}={value}" for key, value in event.detail.items())
        click.echo(f"{utc(event.at)}  {event.user or '-'}  {event.ip or '-'}  {event.action}  {detail}".rstrip())


def parse_since(text: str | None, now: float | None = None) -> float | None:
    """Seconds since the epoch from "30m"/"12h"/"7d" ago or an ISO 8601 time (UTC unless it says)."""
    if text is None:
        return None
    relative = RELATIVE.fullmatch(text.strip())
    if relative:
        return (time.time() if now is None else now) - float(relative[1]) * UNIT_SECONDS[relative[2]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"not a time: {text!r} (ISO 8601 like 2026-12-06T09:00, or ago like 30m, 12h, 7d)",
                                 param_hint="--since") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()

