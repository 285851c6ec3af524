"""The `rag` command: ingest documents, ask questions, evaluate answers against gold ones."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import click

from index import check_index
from index.collections import Grants, check_name, live_collection_sizes
from index.formats import SECTION_SEPARATOR
from rag.answer import TextDelta, place
from rag.errors import RagError
from rag.model_queue import Waiting
from rag.settings import Settings
from rag.team import cli as team_cli
from rag.team import open_team

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2
ELLIPSIS = " \u2026"


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class PluginGroup(click.Group):
    """Commands of this module plus those other packages register under the entry-point
    group `rag.commands` (the web chat's `serve`); a plugin is imported only when run, so
    `rag ask` does not pay for Gradio, and rag/ never imports the packages above it."""

    def _plugins(self) -> dict:
        return {ep.name: ep for ep in importlib.metadata.entry_points(group="rag.commands")}

    def list_commands(self, ctx) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None and name in self._plugins():
            try:
                command = self._plugins()[name].load()
            except ImportError as exc:
                _fail(f"`rag {name}` is not installed ({exc}): pip install -e '.[ui]'")
        return command


ANSWERER_OPTION = click.option("--answerer", "answerer", default=None,
                               help="Answerer to use (default: RAG_ANSWERER).")


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Question answering over your documents, with every answer cited."""


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--rebuild", is_flag=True, help="Re-index everything; the old index stays live until done.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Index matching files even where skipped by default or by an ignore file (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching files and folders (repeatable).")
@click.option("--collection", default="default", show_default=True,
              help="The collection new documents go into (see `rag collections`).")
def ingest(paths: tuple[str, ...], rebuild: bool, as_json: bool, include: tuple[str, ...],
           exclude: tuple[str, ...], collection: str) -> None:
    """Index files and folders (default: seeds/). Re-running embeds only what changed.

    Vendored, build and cache folders, search indexes, minified and lock files, assets,
    hidden files and what .gitignore or .ragignore files name are skipped; a file or folder
    named here is always read. GLOBs follow .gitignore rules, relative to each path given."""
    from index.ingestion import ingest as run_ingest  # here: `rag ask` never needs it (index/__init__.py)

    try:
        report = run_ingest(list(paths) or ["seeds"], Settings.from_env().index_config, rebuild=rebuild,
                            progress=not as_json, include=include, exclude=exclude, collection=collection)
    except RagError as exc:
        _fail(str(exc))
    _show(report, as_json, [
        f"{report.documents} documents, {report.chunks_total} chunks indexed "
        f"({report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded) "
        f"in {report.seconds:.1f} s",
        *_counted("skipped", report.skipped),
        *_counted("removed", report.removed_sources),
        *(f"note: {note['source']}: {note['note']}" for note in report.notes),
    ])
    if not as_json:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        for error in report.errors:
            click.echo(f"failed: {error['source']}: {error['error']}", err=True)
    sys.exit(EXIT_PARTIAL if report.errors else EXIT_OK)


@cli.command()
@click.option("--repair", is_flag=True, help="Fix what is found from the catalog (nothing is embedded again).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check(repair: bool, as_json: bool) -> None:
    """Verify the whole index: every chunk's vector stored as the catalog has it, no stale
    vectors, keyword rows in step. Exits 0 when healthy (or repaired), 1 when not."""
    try:
        report = check_index(Settings.from_env().index_config, repair=repair, progress=not as_json)
    except RagError as exc:
        _fail(str(exc))
    healthy = report.healthy or report.repaired
    verdict = ("Repaired from the catalog." if report.repaired else "Healthy." if healthy
               else "Run `rag check --repair` to fix it from the catalog.")
    _show(report, as_json, [
        f"{report.chunks} chunks: {report.vectors_missing} vectors missing or not the catalog's, "
        f"{report.vectors_stale} stale vectors, {report.keyword_missing} keyword rows "
        f"missing, {report.keyword_stale} stale keyword rows ({report.seconds:.1f} s)",
        *([f"note: {report.vectors_unreachable} vectors are stored right but the approximate search does not "
           "return them by themselves (found by their words; not damage)"] if report.vectors_unreachable else []),
        *(f"problem: {problem}" for problem in report.problems),
        verdict,
    ])
    sys.exit(EXIT_OK if healthy else EXIT_USAGE)


def _counted(what: str, items: list[dict]) -> list[str]:
    """One line counting items by reason, "skipped 231: 120 generated: search index, ...",
    or none when there are no items."""
    counts = Counter(item["reason"] for item in items).most_common()
    return [f"{what} {len(items)}: " + ", ".join(f"{n} {reason}" for reason, n in counts)] if items else []


def _show(report, as_json: bool, lines: list[str]) -> None:
    """A report as one JSON object, or as lines for a person."""
    click.echo(json.dumps(report.to_dict()) if as_json else "\n".join(lines))


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("-k", "--k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@ANSWERER_OPTION
def ask(question: str, as_json: bool, k: int | None, answerer: str | None) -> None:
    """Answer QUESTION from the indexed documents, citing the passages used."""
    from rag.pipeline import pipeline_for  # here: `rag ingest` never needs it (see rag/__init__.py)

    try:
        stream = pipeline_for(Settings.from_env()).ask_stream(question, k=k, answerer=answerer)
        answer = _print_stream(stream, echo=not as_json)
    except RagError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    if "index_problem" in answer.checks:
        click.echo(f"\nNote: {answer.checks['index_problem']}", err=True)
    if answer.short_answer:
        click.echo(f"\nShort answer: {answer.short_answer.text}")
    if answer.confidence is not None:
        click.echo(f"Confidence that the documents answer this: {answer.confidence:.0%}")
    shown = answer.citations if answer.citations else answer.passages
    click.echo("\nSources:" if answer.citations else "\nClosest passages:")
    for item in shown:
        where = SECTION_SEPARATOR.join(part for part in (item.source, place(item)) if part)  # "guide.md › Install"
        quote = getattr(item, "quote", None) or item.text
        click.echo(f"  [{item.n}] {where} (chars {item.start}-{item.end})")
        click.echo(f"      \u201c{textwrap.shorten(quote, 300, placeholder=ELLIPSIS)}\u201d")


@cli.command("eval")
@click.argument("gold", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--corpus", type=click.Path(exists=True, path_type=Path),
              help="Index these documents for the eval (JSONL gold sets; default: your index).")
@ANSWERER_OPTION
@click.option("-k", "--k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Ask a fixed sample of N questions, with the set's share of unanswerable ones.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write eval.json, report.md and PNG plots into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--collection", "collections", multiple=True,
              help="Answer from this collection only, as a user granted it would (repeatable; default: all).")
@click.option("--compare", nargs=2, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Compare two runs' JSON side by side instead: --compare A.json B.json")
def eval_command(gold: Path | None, corpus: Path | None, answerer: str | None, k: int | None, limit: int | None,
                 report_dir: Path | None, as_json: bool, collections: tuple[str, ...],
                 compare: tuple[Path, Path] | None) -> None:
    """Measure answers against the gold questions in GOLD: a JSONL file, or the ClapNQ or
    SQuAD 2.0 folder of ../shared/eval (see docs/evaluation.md)."""
    # Here, not at the top: rag.eval brings rich and the metrics (0.2 s of every `rag ask`).
    from rag.eval import eval_pipeline, evaluate, read_gold, summary_table, write_report

    if compare:
        _compare_runs(gold, compare)
        return
    if gold is None:
        _fail("missing GOLD: a gold JSONL file, or a ClapNQ or SQuAD folder")
    try:
        gold_set = read_gold(gold)
        pipeline = eval_pipeline(gold_set, Settings.from_env(), corpus, progress=not as_json)
        result = evaluate(gold_set, pipeline, k=k, limit=limit, answerer=answerer,
                          progress=not as_json, collections=[check_name(c) for c in collections] or None)
        if report_dir:
            write_report(result, report_dir)
    except RagError as exc:
        _fail(str(exc))
    click.echo(json.dumps(result.summary) if as_json else summary_table(result.summary))
    if report_dir and not as_json:
        click.echo(f"\nReport: {report_dir / 'report.md'}")


@cli.group()
def collections() -> None:
    """Collections of documents, and which users may read or write each."""


@collections.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the collections as one JSON object.")
def list_collections(as_json: bool) -> None:
    """Each collection's documents and chunks, and its grants."""
    try:
        config = Settings.from_env().index_config
        sizes = live_collection_sizes(config)
        grants = Grants(config).all()
    except RagError as exc:
        _fail(str(exc))
    listed = {name: {"documents": d, "chunks": c, "grants": []} for name, (d, c) in sizes.items()}
    for grant in grants:
        listed.setdefault(grant.collection, {"documents": 0, "chunks": 0, "grants": []})["grants"].append(
            {"user": grant.user, "access": grant.access})
    if as_json:
        click.echo(json.dumps(listed))
        return
    for name, about in sorted(listed.items()):
        granted = ", ".join(f"{g['user']} ({g['access']})" for g in about["grants"]) or "admins only"
        click.echo(f"{name}: {about['documents']} documents, {about['chunks']} chunks; {granted}")


@collections.command()
@click.argument("collection")
@click.argument("user")
@click.option("--read", "access", flag_value="read", default=True, help="Read only (the default).")
@click.option("--write", "access", flag_value="write", help="Read, upload and remove.")
def grant(collection: str, user: str, access: str) -> None:
    """Let USER read (or write) COLLECTION, which must hold documents (or be `default`)."""
    try:
        settings = Settings.from_env()
        open_team(settings).accounts.require(user)  # grants are joined to accounts by name
        config = settings.index_config
        done = Grants(config).grant(collection, user, access, set(live_collection_sizes(config)))
    except RagError as exc:
        _fail(str(exc))
    team_cli.audited_from_cli("grant", collection=done.collection, account=done.user, access=done.access)
    click.echo(f"{done.user} may now {done.access} {done.collection}.")


@collections.command()
@click.argument("collection")
@click.argument("user")
def revoke(collection: str, user: str) -> None:
    """Take USER's access to COLLECTION away."""
    try:
        revoked = Grants(Settings.from_env().index_config).revoke(collection, user)
    except RagError as exc:
        _fail(str(exc))
    team_cli.audited_from_cli("revoke", collection=collection, account=user, revoked=revoked)
    click.echo(f"{user} may no longer read {collection}." if revoked else f"{user} had no grant on {collection}.")


def _compare_runs(gold: Path | None, runs: tuple[Path, Path]) -> None:
    from rag.eval import compare as compare_runs  # see eval_command

    if gold:
        _fail("give GOLD or --compare A.json B.json, not both")
    try:
        click.echo(compare_runs(*runs))
    except RagError as exc:
        _fail(f"cannot compare: {exc}")


def _print_stream(stream, echo: bool):
    """Show generated text as it arrives, then the checked answer where checking changed
    it (a refusal, claims or citations removed): only the checked one is the answer."""
    streamed = ""
    for event in stream:
        if isinstance(event, Waiting):
            continue  # a turn at the model: one `rag ask` per process never waits for it
        if isinstance(event, TextDelta):
            if echo:
                click.echo(event.text, nl=False)
            streamed += event.text
            continue
        if echo and streamed and event.answer != streamed:
            click.echo(f"\n\nChecked answer: {event.answer}", nl=False)
        if echo:
            click.echo()
        return event


for _command in (team_cli.users, team_cli.tokens, team_cli.audit):
    cli.add_command(_command)


def main() -> None:
    """Entry point: usage errors exit 1 (click's default is 2, which means partial ingest)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
