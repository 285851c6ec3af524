"""Which files under the given roots are documents.

A folder is walked (links to folders are not followed: no loops); each file and folder is
kept or skipped with a short reason: the default rules below (vendored and build folders,
search indexes, minified files, lock files, assets, hidden files), the `.gitignore` and
`.ragignore` of every folder walked (gitignore semantics, through pathspec), and the
caller's include and exclude globs. A file or folder named directly is always read.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pathspec import GitIgnoreSpec
from pathspec.patterns.gitignore.base import GitIgnorePatternError

from index.errors import RagError
from index.formats import CODE_SUFFIXES, CONFIG_SUFFIXES, HTML_SUFFIXES, is_supported

# The default skips, as gitignore patterns relative to the root given, each with the reason
# the report shows. As in a .gitignore, the last matching pattern wins: `.venv/` is
# reported as vendored rather than hidden.
FOLDER_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hidden folder", (".*/",)),
    ("vendored packages", ("node_modules/", "bower_components/", "site-packages/", ".venv/", "venv/")),
    ("build output", ("build/", "dist/", "target/", "_build/")),
    ("cache", ("__pycache__/", ".pytest_cache/", ".mypy_cache/", ".tox/")),
    ("Sphinx copies of page sources", ("_sources/",)),
    # Files a page links for download, mostly what it already shows (literalinclude).
    ("Sphinx copies of downloadable files", ("_downloads/",)),
    ("site assets", ("_static/",)),
)
FILE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hidden", (".*",)),
    ("asset: stylesheet", ("*.css", "*.scss", "*.sass", "*.less")),
    ("asset: font", ("*.woff", "*.woff2", "*.ttf", "*.otf", "*.eot")),
    ("asset: image", ("*.png", "*.jpg", "*.jpeg", "*.gif", "*.svg", "*.ico", "*.webp", "*.bmp",
                      "*.tif", "*.tiff", "*.avif")),
    ("generated: minified", ("*.min.js", "*.min.mjs", "*.min.css")),
    ("generated: source map", ("*.map",)),
    ("generated: sitemap", ("sitemap.xml", "sitemap.xml.gz")),
    ("generated: search index", ("searchindex.js", "searchindex.json", "**/search/search_index.json",
                                 "*.lunr*", "lunr-index.json", "search-index.json")),
    # Sphinx's general index (by letter, and all on one page: 1.7 MB in Python's docs, parsed
    # only to be refused as a page of links) and its domains' module indexes (py-modindex:
    # a module's name and one line; its passages were 6 of the docs site's 18 junk ones).
    ("generated: index page", ("genindex.html", "genindex-*.html", "*-modindex.html")),
    ("lock file", ("*.lock", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "go.sum",
                   "packages.lock.json", "bun.lockb")),
)
IGNORE_FILES = (".gitignore", ".ragignore")  # in this order: .ragignore's rules win
# What a site's search index holds near its start (Sphinx, mdBook, MkDocs, lunr,
# elasticlunr), found whatever the file is named; read only in code and config files.
SEARCH_INDEX_MARKERS = (b"Search.setIndex(", b'"doc_urls"', b'"docs":[{"location"', b'"fieldVectors"',
                        b'"invertedIndex"', b'"documentStore"')
MARKER_BYTES = 4096
# Sphinx's search page: a form, and a script that fetches the site's search index, around
# one sentence of help ("Searching for multiple words only shows matches that contain all
# words."). Of the Python docs' 531 pages it alone loads searchindex.js, in its <head>; none
# of PostgreSQL's 1,169 (DocBook) does.
SEARCH_PAGE_MARKER = b'src="searchindex.js"'
# Machine-written code and data: more than half of the first 64 KB on lines over 1,000
# characters. Measured on 28,300 real code and config files (/usr/share/doc, /usr/lib/python3,
# this project's venv): it caught 572 of 1,091 .js (built bundles), 56 of 161 .css and 44 of
# 24,894 .py files (Unicode tables, protobuf output, numeric data), and no hand-written one
# seen. Of 1,906 .md/.txt/.rst files it would catch 22 numeric data dumps and no prose (at
# 500 characters, 3 licences written a paragraph a line and a lorem ipsum too). Still, prose
# and HTML pages are documents however long their lines (237 of 2,080 real .html pages are
# mostly such lines), so the rule reads code and config files only.
LONG_LINE = 1000
LONG_LINES_SHARE = 0.5
SAMPLE_BYTES = 64 * 1024
SNIFFED_SUFFIXES = frozenset(CODE_SUFFIXES + CONFIG_SUFFIXES)


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass
class Discovery:
    files: list[tuple[Path, str]] = field(default_factory=list)  # (path, source) to load
    skipped: list[Skipped] = field(default_factory=list)  # files and folders not walked
    errors: list[dict] = field(default_factory=list)  # {source, error}
    warnings: list[str] = field(default_factory=list)
    # Folders not fully seen (unreadable, or a malformed ignore file): what is indexed under
    # them is kept this time rather than removed as gone or newly skipped.
    unsure: list[str] = field(default_factory=list)


def discover(roots: list[str], *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Discovery:
    """The documents under `roots`: a file named is always read, a folder named always walked."""
    found = Discovery()
    includes, excludes = _Globs("--include", include), _Globs("--exclude", exclude)
    for root in roots:
        if os.path.isfile(root):
            found.files.append((Path(root), root))
        elif os.path.isdir(root):
            _Walk(root, found, includes, excludes).folder(root, "", [], include_only=False)
        else:
            found.errors.append({"source": root, "error": "no such file or folder"})
    found.warnings += includes.unmatched() + excludes.unmatched()
    return found


class _Globs:
    """The caller's gitignore-style globs, each remembering whether it matched anything."""

    def __init__(self, option: str, globs: Sequence[str]) -> None:
        self.option = option
        self.specs = [(glob, _glob_spec(option, glob)) for glob in globs]
        self.matched: set[str] = set()

    def first_match(self, relative: str) -> str | None:
        hits = [glob for glob, spec in self.specs if spec.match_file(relative)]
        self.matched.update(hits)
        return hits[0] if hits else None

    def may_match_under(self, folder: str) -> bool:
        """Whether a glob could match a path inside `folder` (relative to the root), so
        that a skipped folder is walked only for an include glob that may reach into it:
        `rag ingest repo --include docs/x.md` walked a repository's .venv and .git for 10 s
        without this, under 0.1 s with it."""
        return any(_may_reach(glob, folder.split("/")) for glob, _ in self.specs)

    def unmatched(self) -> list[str]:
        return [f"{self.option} {glob} matched no file" for glob, _ in self.specs if glob not in self.matched]


def _may_reach(glob: str, folder: list[str]) -> bool:
    """Whether a gitignore glob may match inside the folder whose path parts are given: a
    glob without an inner "/" matches at any depth; an anchored one must agree with the
    folder part by part up to a "**" or its own end (a folder it names holds matches)."""
    parts = glob.lstrip("!").strip("/").split("/")
    if "/" not in glob.lstrip("!").rstrip("/"):
        return True
    for depth, name in enumerate(folder):
        if depth >= len(parts) or parts[depth] == "**":
            return True
        if not fnmatch.fnmatchcase(name, parts[depth]):
            return False
    return True


def _glob_spec(option: str, glob: str) -> GitIgnoreSpec:
    try:
        return GitIgnoreSpec.from_lines([glob])
    except GitIgnorePatternError as exc:
        raise RagError(f"{option} {glob!r} is not a valid glob (.gitignore rules): {exc}") from exc


def _rules_spec(rules: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[GitIgnoreSpec, list[str]]:
    """One spec of all the patterns, and each pattern's reason by its index."""
    pairs = [(pattern, reason) for reason, patterns in rules for pattern in patterns]
    return GitIgnoreSpec.from_lines([p for p, _ in pairs]), [r for _, r in pairs]


_FOLDER_SPEC, _FOLDER_REASONS = _rules_spec(FOLDER_RULES)
_FILE_SPEC, _FILE_REASONS = _rules_spec(FILE_RULES)


def default_reason(relative: str, is_folder: bool) -> str | None:
    """Why the default rules skip this path (relative to its root, "/"-separated), or None."""
    spec, reasons = (_FOLDER_SPEC, _FOLDER_REASONS) if is_folder else (_FILE_SPEC, _FILE_REASONS)
    result = spec.check_file(relative + "/" if is_folder else relative)
    return reasons[result.index] if result.include else None


def content_reason(path: Path) -> str | None:
    """Why a code or config file (a search index, minified or machine-written lines) or an
    HTML page (a site's search page) is no document by what it holds, or None; other types
    are not read here."""
    suffix = path.suffix.lower()
    page = suffix in HTML_SUFFIXES
    if not page and suffix not in SNIFFED_SUFFIXES:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(MARKER_BYTES if page else SAMPLE_BYTES)
    except OSError:
        return None  # the loader says why it cannot be read
    if page:
        return "generated: search page" if SEARCH_PAGE_MARKER in head else None
    if any(marker in head[:MARKER_BYTES] for marker in SEARCH_INDEX_MARKERS):
        return "generated: search index"
    long_bytes = sum(len(line) + 1 for line in head.split(b"\n") if len(line) > LONG_LINE)
    if head and long_bytes / len(head) > LONG_LINES_SHARE:
        return "generated: machine-length lines"
    return None


@dataclass(frozen=True)
class _IgnoreFile:
    folder: str  # relative to the root, "" for the root itself
    path: str
    spec: GitIgnoreSpec

    def verdict(self, relative: str) -> bool | None:
        """True when it ignores the path, False when it re-includes it (`!`), else None."""
        inner = relative[len(self.folder) + 1:] if self.folder else relative
        return self.spec.check_file(inner).include


class _Walk:
    def __init__(self, root: str, found: Discovery, includes: _Globs, excludes: _Globs) -> None:
        self.root, self.found, self.includes, self.excludes = root, found, includes, excludes

    def folder(self, path: str, relative: str, ignore_files: list[_IgnoreFile], include_only: bool) -> None:
        """Walk one folder. `include_only`: a skipped folder walked only for the files an
        include glob names (its other contents are reported once, as the folder)."""
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            self.found.errors.append({"source": path, "error": f"cannot read folder: {exc.strerror}"})
            self.found.unsure.append(path)
            return
        ignore_files = ignore_files + list(self._ignore_files(path, relative))
        prefix = f"{relative}/" if relative else ""
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                self._subfolder(entry.path, prefix + entry.name, ignore_files, include_only)
            elif entry.is_dir():
                self._skip(entry.path, "link to a folder: not followed", include_only)
            else:
                self._file(entry.path, prefix + entry.name, ignore_files, include_only)

    def _subfolder(self, path: str, relative: str, ignore_files: list[_IgnoreFile], include_only: bool) -> None:
        excluded = self.excludes.first_match(relative + "/")
        if excluded:
            self._skip(path, f"excluded by --exclude {excluded}", include_only)
            return
        reason = _ignored_by(ignore_files, relative + "/") or default_reason(relative, is_folder=True)
        if reason:
            self._skip(path, reason, include_only)
        # Include globs may name files inside a skipped folder, so it is walked for them.
        if (not reason and not include_only) or self.includes.may_match_under(relative):
            self.folder(path, relative, ignore_files, include_only or bool(reason))

    def _file(self, path: str, relative: str, ignore_files: list[_IgnoreFile], include_only: bool) -> None:
        excluded = self.excludes.first_match(relative)
        if excluded:
            self._skip(path, f"excluded by --exclude {excluded}", include_only)
            return
        file = Path(path)
        rule = default_reason(relative, is_folder=False)
        included = self.includes.first_match(relative)
        if not is_supported(file):
            self._skip(path, rule or "unsupported type", include_only)  # no glob makes it loadable
            return
        if included:
            self.found.files.append((file, path))
            return
        reason = _ignored_by(ignore_files, relative) or rule or content_reason(file)
        if reason:
            self._skip(path, reason, include_only)
        elif not include_only:
            self.found.files.append((file, path))

    def _skip(self, path: str, reason: str, include_only: bool) -> None:
        if not include_only:  # inside a skipped folder: that folder is the report's entry
            self.found.skipped.append(Skipped(path, reason))

    def _ignore_files(self, folder: str, relative: str) -> Iterator[_IgnoreFile]:
        for name in IGNORE_FILES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                yield _IgnoreFile(relative, path, self._read_ignore_file(path, folder))

    def _read_ignore_file(self, path: str, folder: str) -> GitIgnoreSpec:
        """The file's rules. A line pathspec refuses is reported by number and left out; the
        others still apply (a `secrets/` line next to a typo keeps secrets out of the
        index), and the folder is marked unsure so that nothing indexed under it is removed
        this time (the bad line may have been a `!keep.md` that kept a document in)."""
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            self.found.errors.append({"source": path, "error": f"cannot read ignore file: {exc.strerror}"})
            self.found.unsure.append(folder)
            return GitIgnoreSpec.from_lines([])
        valid = []
        for number, line in enumerate(lines, 1):
            try:
                GitIgnoreSpec.from_lines([line])
            except GitIgnorePatternError:
                self.found.errors.append({"source": path, "error": f"line {number}: invalid pattern {line!r}, "
                                                                   "left out (the other lines apply)"})
                self.found.unsure.append(folder)
                continue
            valid.append(line)
        return GitIgnoreSpec.from_lines(valid)


def _ignored_by(ignore_files: list[_IgnoreFile], relative: str) -> str | None:
    """Why an ignore file skips the path, or None. The deepest file with a say decides: a
    nested file's rules (and .ragignore's over .gitignore's) override the outer ones."""
    for ignore_file in reversed(ignore_files):
        verdict = ignore_file.verdict(relative)
        if verdict is not None:
            return f"ignored by {ignore_file.path}" if verdict else None
    return None
