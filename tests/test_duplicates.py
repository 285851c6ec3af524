"""Text repeated across files (a site's print-all page, older editions in sub-folders) is
embedded once and cited from the most specific document; removing a copy keeps the others.

The site's chapters each fill one chunk, so the print page's chunks are the chapters' texts
exactly (tests check this precondition, not the chunker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import IndexConfig, check_index, ingest, load, open_index, remove
from index.chunking import chunk_document, sentence_spans
from rag import Pipeline, Settings

FACTS = {
    "cache": "The cache keeps at most 512 answers in memory unless the cache_size setting says otherwise.",
    "backup": "A backup runs every night at two o'clock and keeps the last fourteen archives on disk.",
    "logging": "Log files rotate when they reach forty megabytes, and the oldest of nine files is deleted.",
    "proxy": "The proxy forwards requests to port 8443 and retries a failed upstream three times.",
    "quota": "Each user may store twenty gigabytes before the quota blocks new uploads.",
    "queue": ("The queue starts waiting jobs every thirty seconds, oldest first, and never runs more than eight"
              " at once."),
}
# Long enough that a chapter (~240 tokens) and the next one's first sentence never share a
# chunk, and its last sentence (43 tokens) is too long to overlap into the next chunk.
BODY = [
    ("This chapter about the {t} explains how the {t} of the server behaves in normal operation, how an "
     "operator inspects the {t} from the command line, and what the {t} writes to its log file."),
    ("When the {t} misbehaves, the operator first reads the {t} section of the status page, then compares "
     "the {t} settings with the defaults listed in the reference tables of this manual."),
    ("Changes to the {t} take effect after a reload, and the server refuses a {t} configuration that it "
     "cannot parse, naming the offending line and the setting it expected there instead."),
    ("Older releases handled the {t} differently, so administrators upgrading a cluster should read the "
     "notes about the {t} in the upgrade chapter before they restart any of the machines."),
    ("Questions about the {t} that this chapter leaves open are answered in the frequently asked "
     "questions, where the maintainers collect what users reported about the {t} over the years."),
    ("Finally, the appendix of this manual lists every setting of the {t} with its type, its default value, "
     "the release that introduced it, and an example taken from a production configuration that the "
     "maintainers reviewed and tested."),
]
EDITIONS = ["old/v1", "old/v2", "old/v3"]
BACKUP_QUESTION = "How many backup archives are kept on disk?"


def chapter(topic: str, fact: str | None = None) -> str:
    return " ".join([fact or FACTS[topic]] + [s.format(t=topic) for s in BODY])


def write_edition(folder: Path, chapters: dict[str, str]) -> None:
    """An mdBook-like build: guide/<topic>.txt per chapter and print.txt repeating them all."""
    (folder / "guide").mkdir(parents=True, exist_ok=True)
    for topic, text in chapters.items():
        (folder / "guide" / f"{topic}.txt").write_text(text)
    (folder / "print.txt").write_text("\n\n".join(chapters.values()))


def write_site(root: Path, old_chapters: dict[str, str] | None = None) -> Path:
    """The current edition at the root and three older ones under old/vN/ (the same
    chapters unless `old_chapters` says otherwise)."""
    current = {topic: chapter(topic) for topic in FACTS}
    write_edition(root, current)
    for edition in EDITIONS:
        write_edition(root / edition, old_chapters or current)
    return root


def chunk_texts(path: Path, embedder) -> list[str]:
    return [c.text for c in chunk_document(load(path), embedder.tokenizer, embedder.max_tokens)]


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def healthy(home: Path) -> bool:
    return check_index(IndexConfig(home)).healthy


def passages(home: Path, question: str, k: int = 5, fetch_k: int = 30):
    search = Pipeline(Settings(home=home, answerer="extractive")).search(k)
    search.fetch_k = fetch_k
    found, problem = search.retrieve(question)
    assert problem is None
    return found


def test_the_print_page_repeats_the_chapters_chunk_for_chunk(tmp_path, embedder):
    site = write_site(tmp_path / "site")
    assert chunk_texts(site / "print.txt", embedder) == [chapter(t) for t in FACTS]


def test_a_site_with_a_print_page_copied_four_times_is_embedded_once(tmp_path, home):
    site = write_site(tmp_path / "site")
    report = ingest([site], IndexConfig(home))
    assert report.added == 4 * (len(FACTS) + 1)
    assert report.chunks_embedded == len(FACTS)  # one copy's chapters; every print page repeats them
    assert report.chunks_total == 4 * 2 * len(FACTS)
    assert healthy(home)


def test_the_chapter_is_cited_not_the_print_page_or_an_old_edition(tmp_path, home):
    site = write_site(tmp_path / "site")
    ingest([site], IndexConfig(home))
    answer = Pipeline(Settings(home=home, answerer="extractive")).ask(BACKUP_QUESTION)
    assert not answer.refused
    assert answer.passages[0].source == str(site / "guide" / "backup.txt")
    assert answer.citations and {c.source for c in answer.citations} == {str(site / "guide" / "backup.txt")}


def test_copies_do_not_crowd_out_other_passages(tmp_path, home):
    site = write_site(tmp_path / "site")
    ingest([site], IndexConfig(home))
    # Eight copies of each chapter: a first fetch of 5 chunks holds one or two texts.
    found = passages(home, BACKUP_QUESTION, k=5, fetch_k=5)
    assert len(found) == 5
    assert len({p.text for p in found}) == 5
    assert {Path(p.source).parent for p in found} == {site / "guide"}


def test_a_text_the_tokenizer_reads_alike_is_embedded_once(tmp_path, home, embedder):
    """Case and whitespace are normalized by the (uncased) model's tokenizer: the same
    vectors. Dropped punctuation is read differently: embedded on its own."""
    folder = tmp_path / "docs"
    folder.mkdir()
    text = chapter("cache")
    (folder / "a.txt").write_text(text)
    (folder / "b-case-and-spaces.txt").write_text(text.upper().replace(". ", ".\n"))
    (folder / "c-no-commas.txt").write_text(text.replace(",", ""))
    report = ingest([folder], IndexConfig(home))
    assert report.chunks_embedded == 2
    with open_index(IndexConfig(home)) as index:
        chunks = {Path(c.source).name: c for c in index.catalog.chunks(index.catalog.chunk_ids()).values()}
        _, vectors = index.catalog.vectors([chunks[n].vector_id for n in sorted(chunks)])
        hashes = [chunks[n].text_hash for n in sorted(chunks)]
        stored = {n: index.catalog.sentence_vectors(chunks[n].source, 0, len(chunks[n].text)) for n in chunks}
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert hashes[0] == hashes[1] != hashes[2]
    # The reused sentence vectors are placed on the copy's own sentences.
    variant = chunks["b-case-and-spaces.txt"].text
    assert sorted(stored["b-case-and-spaces.txt"]) == sentence_spans(variant)
    assert len(sentence_spans(variant)) == len(sentence_spans(text))


def test_old_editions_with_an_edit_are_near_duplicates_embedded_on_their_own(tmp_path, home):
    """A changed sentence gives a chunk the model reads differently: it gets its own vector
    (it may be the one a question about the old behaviour needs), and retrieval treats it as
    a copy of the current one, citing the current edition."""
    old = {topic: chapter(topic) for topic in FACTS}
    old["backup"] = chapter("backup", FACTS["backup"].replace("fourteen", "seven"))
    site = write_site(tmp_path / "site", old_chapters=old)
    report = ingest([site], IndexConfig(home))
    assert report.chunks_embedded == len(FACTS) + 1  # the old backup chapter, once for three editions
    found = passages(home, BACKUP_QUESTION)
    assert found[0].source == str(site / "guide" / "backup.txt")
    assert not any("seven archives" in p.text for p in found)  # its near-duplicate is not a second passage
    assert len({p.text for p in found}) == len(found) == 5


def test_a_shorter_old_edition_does_not_beat_the_current_one(tmp_path, home, embedder):
    """The current chapter grew a sentence, and a chunk; the old editions' copies are
    shorter but deeper."""
    site = write_site(tmp_path / "site")
    grown = chapter("backup") + (" Restoring an archive takes about ten minutes per gigabyte of data, and the"
                                 " server stays available for reading while it runs.")
    (site / "guide" / "backup.txt").write_text(grown)
    assert chunk_texts(site / "guide" / "backup.txt", embedder)[0] == chapter("backup")
    assert len(chunk_texts(site / "guide" / "backup.txt", embedder)) == 2
    ingest([site], IndexConfig(home))
    found = passages(home, BACKUP_QUESTION)
    assert found[0].source == str(site / "guide" / "backup.txt")


def test_removing_the_cited_copy_leaves_the_text_answerable_from_another(tmp_path, home):
    site = write_site(tmp_path / "site")
    ingest([site], IndexConfig(home))
    cited = str(site / "guide" / "backup.txt")
    assert remove([cited], IndexConfig(home)) == [cited]
    answer = Pipeline(Settings(home=home, answerer="extractive")).ask(BACKUP_QUESTION)
    assert not answer.refused
    # The shallowest remaining chapter-sized copy; the print page gathers six chapters.
    assert answer.passages[0].source == str(site / "old" / "v1" / "guide" / "backup.txt")
    assert "fourteen archives" in answer.passages[0].text
    repair = check_index(IndexConfig(home), repair=True)
    assert repair.healthy and not repair.repaired


def test_more_identical_copies_than_the_check_looks_at_are_healthy(tmp_path, home):
    """Identical vectors tie: a chunk with more copies than `rag check` fetches neighbours
    may not come back itself, and the check must not call that missing."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(12):
        (folder / f"copy-{n:02}.txt").write_text(chapter("proxy"))
    report = ingest([folder], IndexConfig(home))
    assert report.chunks_embedded == 1
    assert healthy(home)
    repair = check_index(IndexConfig(home), repair=True)
    assert repair.healthy and not repair.repaired


def test_copies_are_read_from_the_catalog_shortest_documents_first(tmp_path, index_config):
    site = write_site(tmp_path / "site")
    ingest([site], index_config)
    with open_index(index_config) as index:
        backup = index.catalog.chunk_ids([str(site / "guide" / "backup.txt")])
        text_hash = index.catalog.chunks(backup)[backup[0]].text_hash
        copies = index.copies([text_hash], limit=5)
    chapters = sorted(str(folder / "guide" / "backup.txt") for folder in [site, *(site / e for e in EDITIONS)])
    assert [c.source for c in copies] == [*chapters, str(site / "old" / "v1" / "print.txt")]
    assert [c.document_chunks for c in copies] == [1, 1, 1, 1, len(FACTS)]
    assert {c.text for c in copies} == {chapter("backup")}
