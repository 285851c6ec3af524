"""Hostile input, crashes and a restarting server: nothing crashes, nothing indexed is lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from helpers import (
    SEED,
    ChromaServer,
    consistent_ids,
    found_by_own_vectors,
    make_encrypted_pdf,
    make_epub,
    make_notebook,
    make_pdf,
    make_pptx,
    make_xlsx,
    rewrite_zip_member,
    snapshot,
)

from index import IndexConfig, ingest
from rag import Pipeline, QuestionError, Settings

ROOT = Path(__file__).resolve().parents[1]
SHEET_XMLNS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.fixture
def seeded(tmp_path) -> Path:
    """An index holding the seed article, to check that bad input takes nothing from it."""
    home = tmp_path / "home"
    docs = tmp_path / "good"
    docs.mkdir()
    (docs / "article.txt").write_text(SEED.read_text())
    assert ingest([docs], IndexConfig(home)).errors == []
    return home


def hostile_folder(folder: Path) -> dict[str, str]:
    """Files that must each fail with a clear message (name -> words the message holds)."""
    folder.mkdir()
    pdf = make_pdf(folder / "whole.pdf", ["Lighthouses guide ships at night."]).read_bytes()
    (folder / "whole.pdf").unlink()
    (folder / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (folder / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    make_encrypted_pdf(folder / "locked.pdf")
    (folder / "zero.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(5000))
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (300 * 1024 * 1024))
    for suffix in ("pptx", "xlsx", "epub"):  # the checks read the zip directory, not the names
        (folder / f"bomb.{suffix}").write_bytes((folder / "bomb.docx").read_bytes())
    hostile_office_files(folder)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.txt").symlink_to(folder / "missing.txt")
    return {
        "truncated.pdf": "PDF", "garbage.pdf": "PDF", "locked.pdf": "encrypted",
        "zero.txt": "empty", "binary.txt": "binary", "bomb.docx": "zip bomb",
        "bomb.pptx": "zip bomb", "bomb.xlsx": "zip bomb", "bomb.epub": "zip bomb",
        "million.xlsx": "over 100,000 rows", "laughs.xlsx": "EntitiesForbidden", "malformed.pptx": "PPTX",
        "malformed.xlsx": "XLSX", "malformed.epub": "EPUB", "malformed.ipynb": "notebook",
        "long-line.rst": "line over", "dangling.txt": "cannot read",
    }


def hostile_office_files(folder: Path) -> None:
    """Slides, sheets, books and notebooks with broken XML or JSON, a million rows, or
    entities that expand a billion times."""
    make_xlsx(folder / "template.xlsx")
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 1_000_001))
    million = (f'<worksheet xmlns="{SHEET_XMLNS}"><dimension ref="A1:A1000000"/>'
               f"<sheetData>{rows}</sheetData></worksheet>")
    rewrite_zip_member(folder / "template.xlsx", folder / "million.xlsx", "xl/worksheets/sheet1.xml", million.encode())
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    laughs = (f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]><worksheet xmlns="{SHEET_XMLNS}">'
              '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
    rewrite_zip_member(folder / "template.xlsx", folder / "laughs.xlsx", "xl/worksheets/sheet1.xml", laughs.encode())
    rewrite_zip_member(folder / "template.xlsx", folder / "malformed.xlsx", "xl/workbook.xml", b"<workbook><sheets>")
    (folder / "template.xlsx").unlink()
    make_pptx(folder / "template.pptx")
    rewrite_zip_member(folder / "template.pptx", folder / "malformed.pptx", "ppt/presentation.xml", b"<p:presentation")
    (folder / "template.pptx").unlink()
    make_epub(folder / "template.epub")
    rewrite_zip_member(folder / "template.epub", folder / "malformed.epub", "OEBPS/content.opf", b"<package><spine>")
    (folder / "template.epub").unlink()
    (folder / "malformed.ipynb").write_text('{"cells": [{"cell_type": "markdown", "source": "Tides')
    (folder / "long-line.rst").write_text("Tides\n=====\n\n" + "word " * 30_000 + "\n")


def odd_but_fine(folder: Path) -> dict[str, str]:
    """Files that must be indexed (name -> a phrase then searchable)."""
    files = {
        "utf16.txt": ("Tidal mills ground grain on the estuary.", "utf-16"),
        "latin1.txt": ("Le moulin à marée broyait le grain près de l'estuaire.", "latin-1"),
        "mixed.txt": None,
        "dots..in..name.txt": ("Kelp forests shelter otters.", "utf-8"),
        ".hidden.txt": ("Hidden files are listed as skipped.", "utf-8"),
        "new\nline.txt": ("Glaciers carve fjords slowly.", "utf-8"),
        "$(touch PWNED); rm -rf x `id`.md": ("Basalt columns form as lava cools.", "utf-8"),
        "nested.html": None,
    }
    for name, spec in files.items():
        if spec:
            (folder / name).write_bytes(spec[0].encode(spec[1]))
    # UTF-8 with one stray Latin-1 byte: decoded as Windows-1252, not refused, not mangled.
    (folder / "mixed.txt").write_bytes("Caf\u00e9 owners ".encode() + b"na\xefve " + b"brew strong coffee.")
    depth = 3000
    (folder / "nested.html").write_text("<div>" * depth + "Deep nesting hides the beacon keeper." + "</div>" * depth)
    # A notebook with a 50 MB output: indexed, the output cut where the text says so.
    notebook = json.loads(make_notebook(folder / "huge-output.ipynb").read_text())
    notebook["cells"][1]["outputs"][0]["text"] = "tide reading 3.1 metres\n" * (50 * 2**20 // 24)
    (folder / "huge-output.ipynb").write_text(json.dumps(notebook))
    return {
        "utf16.txt": "Tidal mills", "latin1.txt": "moulin à marée", "mixed.txt": "coffee",
        "dots..in..name.txt": "Kelp forests", "new\nline.txt": "Glaciers carve",
        "$(touch PWNED); rm -rf x `id`.md": "Basalt columns", "nested.html": "beacon keeper",
        "huge-output.ipynb": "more characters not indexed]\n\nThe fitted amplitude",
    }


def test_hostile_files_fail_clearly_and_take_nothing_away(seeded, tmp_path):
    before = snapshot(seeded)
    folder = tmp_path / "hostile"
    failing = hostile_folder(folder)
    fine = odd_but_fine(folder)
    report = ingest([folder], IndexConfig(seeded))

    errors = {Path(e["source"]).name: e["error"] for e in report.errors}
    for name, words in failing.items():
        assert name in errors, (name, errors)
        assert words.lower() in errors[name].lower(), (name, errors[name])
    assert set(errors) == set(failing), "only the broken files fail"
    after = snapshot(seeded)
    assert {k: after[k] for k in before} == before, "what was indexed before is intact, byte for byte"
    indexed = {Path(source).name: doc["text"] for source, doc in after.items()}
    for name, phrase in fine.items():
        assert phrase in indexed[name], name
    assert {"source": str(folder / ".hidden.txt"), "reason": "hidden"} in report.skipped
    assert "PWNED" not in os.listdir(tmp_path) and not (ROOT / "PWNED").exists()
    consistent_ids(seeded)


@pytest.mark.parametrize(
    "question, error",
    [("", "empty"), ("\x00\x01\x02\x7f", "empty"), ("why " * 250_000, "too long")],
)
def test_hostile_questions_get_clear_errors(seed_pipeline, question, error):
    with pytest.raises(QuestionError, match=error):
        seed_pipeline.ask(question)


# "Who founded DeepSeek?" in Spanish and in Chinese; the seed article answers it in English.
FOREIGN = pytest.mark.parametrize("question", ["¿Quién fundó DeepSeek?", "DeepSeek是谁创立的？"], ids=["es", "zh"])
FOUNDER = "Founded in 2023 by Liang Wenfeng in Hangzhou, China"


def best_evidence(answer) -> str:
    """The answer's text, or when it was refused for low confidence, the answer withheld."""
    if not answer.refused:
        return answer.answer
    return answer.checks.get("low_confidence", {}).get("withheld", "")


@FOREIGN
def test_a_question_in_another_language_finds_the_sentence_that_answers_it(seed_pipeline, question):
    """The article is 4 chunks, merged into passages covering all of it, so which passage
    ranks first says little: what counts is the sentence the answerer puts first."""
    assert best_evidence(seed_pipeline.ask(question)).startswith(FOUNDER)


@FOREIGN
@pytest.mark.xfail(strict=True, reason="known gap: the English-calibrated confidence refuses these "
                   "(es 0.04, zh 0.01; threshold 0.23) although the sentence found answers them")
def test_a_question_in_another_language_is_answered_not_refused(seed_pipeline, question):
    answer = seed_pipeline.ask(question)
    assert not answer.refused and answer.citations[0].quote.startswith(FOUNDER)


@pytest.mark.parametrize("question", ["💥" * 50, "' OR 1=1; --"], ids=["emoji", "sql"])
def test_text_that_asks_nothing_is_refused_and_changes_nothing(seed_pipeline, seed_home, question):
    def index_state():
        return snapshot(seed_home), seed_pipeline.index.catalog.changes()

    before = index_state()
    answer = seed_pipeline.ask(question)
    assert (answer.refused, answer.citations, answer.short_answer) == (True, [], None)
    assert index_state() == before


def kill_ingest_at(delay: float, docs: Path, home: Path) -> int:
    """Run `rag ingest` in its own process and SIGKILL it after `delay` seconds."""
    env = {**os.environ, "RAG_HOME": str(home)}
    process = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(docs), "--json"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    return process.wait()


def changing_corpus(docs: Path, trial: int) -> None:
    """Each trial adds, changes and deletes documents, so a kill lands mid-work."""
    docs.mkdir(exist_ok=True)
    rng = random.Random(trial)
    for i in range(12):
        words = " ".join(rng.choice(["harbour", "tide", "lantern", "keel", "gull", "reef"]) for _ in range(60))
        (docs / f"note-{i}.txt").write_text(f"Note {i} of trial {trial}. {words}.")
    (docs / f"note-{rng.randrange(12)}.txt").unlink()


def crash_trials(tmp_path: Path, trials: int, seed: int) -> None:
    home, docs = tmp_path / "home", tmp_path / "docs"
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "article.txt").write_text(SEED.read_text())
    ingest([tmp_path / "keep"], IndexConfig(home))
    kept = snapshot(home)
    rng = random.Random(seed)
    for trial in range(trials):
        changing_corpus(docs, trial)
        kill_ingest_at(rng.uniform(0.5, 9.0), docs, home)
        report = ingest([docs], IndexConfig(home))
        assert report.errors == []
        ids = consistent_ids(home)
        found_by_own_vectors(home)
        after = snapshot(home)
        assert {k: after[k] for k in kept} == kept, f"trial {trial}: an earlier document changed"
        notes = {s for s in after if "note-" in s}
        assert notes == {str(p) for p in docs.iterdir()}, f"trial {trial}: index out of step with the folder"
        assert all(after[s]["chunks"] for s in notes) and ids


@pytest.mark.crash
def test_sigkill_mid_ingest_leaves_a_consistent_index(tmp_path):
    """Random kill times; the chosen kill points are in test_index_consistency.py."""
    crash_trials(tmp_path, trials=3, seed=1)


@pytest.mark.soak
def test_sigkill_soak(tmp_path):
    crash_trials(tmp_path, trials=100, seed=2)


@pytest.mark.server
def test_chroma_server_restart_between_questions(tmp_path):
    with ChromaServer(tmp_path) as server:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "article.txt").write_text(SEED.read_text())
        settings = Settings(home=tmp_path / "home", chroma_host=server.HOST, chroma_port=server.port,
                            answerer="extractive")
        ingest([docs], settings.index_config)
        pipeline = Pipeline(settings)
        assert "Liang Wenfeng" in pipeline.ask("Who founded DeepSeek?").answer
        server.stop()
        down = pipeline.ask("Who founded DeepSeek?")  # from the keyword side, saying why
        assert "Liang Wenfeng" in down.answer and "not answering" in down.checks["index_problem"]
        server.start()
        up = pipeline.ask("Who founded DeepSeek?")
        assert "Liang Wenfeng" in up.answer and "index_problem" not in up.checks


@pytest.mark.soak
def test_fifty_megabyte_text_file_loads_and_chunks_in_bounded_memory(tmp_path):
    """Loading and chunking are the steps whose memory grows with the file (embedding runs
    in fixed batches); their peak RSS is printed and bounded."""
    big = tmp_path / "big.txt"
    sentence = "The harbour master logged {} ships entering the bay before the storm arrived. "
    with open(big, "w") as out:
        i = 0
        while out.tell() < 50 * 1024 * 1024:
            out.write("".join(sentence.format(i + j) for j in range(1000)) + "\n\n")
            i += 1000
    script = (
        "import resource, sys\n"
        "from index import load\n"
        "from index.chunking import chunk_document\n"
        "from index.vectors.embedder import load_embedder\n"
        "e = load_embedder()\n"
        f"d = load({str(big)!r})\n"
        "chunks = chunk_document(d, e.tokenizer, e.max_tokens)\n"
        "assert all(d.text[c.start:c.end] == c.text for c in chunks)\n"
        "print(len(d.text), len(chunks), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    chars, chunks, peak_mb = map(int, out.stdout.split()[-3:])
    print(f"50 MB text: {chars:,} chars, {chunks:,} chunks, peak RSS {peak_mb} MB")
    assert chunks > 40_000 and peak_mb < 1500  # measured 619 MB (4 GB before windowed tokenizing)
