"""The README, CONTRIBUTING.md and docs/ stay true: the site builds with every link
resolving, and every command they show names a real `rag` subcommand with real options, a
real make target, or a script that exists."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from rag.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"```(?:sh|bash|console)\n(.*?)```", re.S)
# Commands the pages show that run outside this project (Docker, the shell's own); each is
# checked by what it is about instead: compose.yaml by tests/test_deploy.py.
FOREIGN = {"docker", "printf", "openssl", "git", "apt-get", "chroma", "curl", "cd"}


def shown_commands() -> list[tuple[str, list[str]]]:
    """(page name, argv) of every command line in the pages' shell blocks."""
    commands = []
    for page in PAGES:
        for block in SHELL_BLOCK.findall(page.read_text()):
            for line in block.splitlines():
                line = line.split(" #", 1)[0].strip()
                if line and not line.startswith("#"):
                    for part in re.split(r"\s*(?:&&|\|\|)\s*", line):
                        commands.append((page.name, shlex.split(part)))
    return commands


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_the_pages_show_commands_at_all():
    assert len(shown_commands()) >= 20


@pytest.mark.parametrize("page, argv", shown_commands(), ids=lambda value: " ".join(value) if isinstance(value, list) else value)
def test_every_command_shown_is_real(page, argv):
    program = argv[0].removeprefix(".venv/bin/")
    if program == "rag":
        _check_rag_command(argv[1:])
    elif program == "make":
        assert set(argv[1:]) - {"FULL=1"} <= makefile_targets(), f"{page}: no such make target in {argv}"
    elif program == "python":
        assert argv[1] == "-c" or (ROOT / argv[1]).is_file(), f"{page}: {argv[1]} does not exist"
    else:
        assert program in FOREIGN, f"{page}: unknown command {argv}"


def _check_rag_command(args: list[str]) -> None:
    """The subcommand exists and takes every option shown (values are not checked: a path in
    an example need not exist here)."""
    name, command, rest = "rag", cli, list(args)
    while isinstance(command, click.Group):  # `rag users add ...`: down to the command run
        context = command.make_context(name, list(rest), resilient_parsing=True)
        name, command, rest = command.resolve_command(context, rest)
    options = {opt for param in command.params if isinstance(param, click.Option) for opt in param.opts}
    shown = {arg.split("=", 1)[0] for arg in args if arg.startswith("-")}
    assert shown <= options | {"-h", "--help"}, f"rag {name} has no option {shown - options}"


def test_the_site_builds_strict_with_every_link_resolving(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "documents" / "index.html").is_file()
