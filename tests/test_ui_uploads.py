"""Uploads from the page: checked, kept inside RAG_HOME/uploads/, indexed without losing anything."""

import pytest
from helpers import snapshot

from rag import Pipeline, Settings
from ui import uploads


@pytest.fixture
def pipeline(tmp_path) -> Pipeline:
    """An index holding one document, and a 1 MB upload limit."""
    kept = tmp_path / "kept.txt"
    kept.write_text("The harbour master rings the bell at noon every day.")
    pipeline = Pipeline(Settings(home=tmp_path / "home", max_upload_mb=1, answerer="extractive"))
    assert pipeline.ingest([str(kept)]).added == 1
    return pipeline


def received(tmp_path, name: str, data: bytes):
    """A file as the server received it: the name the browser sent, the bytes on disk."""
    path = tmp_path / "received" / name.replace("/", "_")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return name, path


def indexed(pipeline) -> list[str]:
    return sorted(pipeline.documents())


def test_bad_uploads_get_clear_messages_and_lose_nothing(pipeline, tmp_path):
    before = snapshot(pipeline.settings.home)
    results = uploads.add_documents(
        [
            received(tmp_path, "tool.exe", b"MZ\x90\x00"),
            received(tmp_path, "notes", b"no extension"),
            received(tmp_path, "big.txt", b"a" * (2**20 + 1)),
            received(tmp_path, "empty.md", b""),
            received(tmp_path, "binary.txt", bytes(range(256)) * 8),
        ],
        pipeline,
    )
    messages = {r.name: r.message for r in results}
    assert not any(r.ok for r in results)
    assert messages["tool.exe"].startswith("not a supported type (.exe); upload one of .txt, .md")
    assert messages["notes"].startswith("not a supported type (no extension)")
    assert messages["big.txt"] == "the file is too large (1.0 MB; the limit is 1 MB)"
    assert messages["empty.md"] == "the file is empty"
    assert messages["binary.txt"].startswith("not indexed: ") and "binary" in messages["binary.txt"]
    assert snapshot(pipeline.settings.home) == before  # every document's text, chunks and vectors
    assert list(uploads.upload_folder(pipeline.settings).glob("*")) == []  # the failed file is not kept


def test_names_with_path_parts_stay_inside_the_upload_folder(pipeline, tmp_path):
    results = uploads.add_documents(
        [received(tmp_path, "../../evil.txt", b"The evil twin hides in the attic of the mill.")], pipeline
    )
    assert results == [uploads.UploadResult("evil.txt", True, "indexed")]
    stored = uploads.upload_folder(pipeline.settings) / "evil.txt"
    assert stored.exists() and str(stored) in indexed(pipeline)
    assert not (pipeline.settings.home / "evil.txt").exists() and not (pipeline.settings.home.parent / "evil.txt").exists()
    assert len(indexed(pipeline)) == 2  # the document indexed before is still there


@pytest.mark.parametrize(
    "sent, saved",
    [
        ("../../evil.txt", "evil.txt"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("..", "upload"),
        (".hidden.md", "hidden.md"),
        ("tab\tand\x00nul\x1f.txt", "tab_and_nul_.txt"),
        ('<img src=x onerror="alert(1)">.txt', "_img src_x onerror__alert(1)__.txt"),
        ("Überblick (Entwurf).pdf", "Überblick (Entwurf).pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_safe_name(sent, saved):
    assert uploads.safe_name(sent) == saved


def test_a_new_file_under_a_taken_name_is_kept_beside_the_old_one(pipeline, tmp_path):
    first = received(tmp_path, "notes.txt", b"Version one says the ferry leaves at seven.")
    assert uploads.add_documents([first], pipeline)[0].message == "indexed"
    second = (first[0], tmp_path / "v2.txt")
    second[1].write_bytes(b"Version two says the ferry leaves at eight.")
    assert uploads.add_documents([second], pipeline)[0].message == "indexed as notes-2.txt"
    assert uploads.add_documents([first], pipeline)[0].message == "already indexed"
    folder = uploads.upload_folder(pipeline.settings)
    assert {str(folder / "notes.txt"), str(folder / "notes-2.txt")} <= set(indexed(pipeline))


def test_progress_is_reported_per_file(pipeline, tmp_path):
    seen = []
    uploads.add_documents(
        [received(tmp_path, "a.txt", b"Alpha text."), received(tmp_path, "b.exe", b"x")],
        pipeline,
        on_progress=lambda done, total, name: seen.append((done, total, name)),
    )
    assert seen == [(0, 2, "a.txt"), (1, 2, "b.exe")]


def test_removing_an_uploaded_document_deletes_its_file_and_nothing_else(pipeline, tmp_path):
    uploads.add_documents([received(tmp_path, "gone.txt", b"This page will be removed soon.")], pipeline)
    stored = uploads.upload_folder(pipeline.settings) / "gone.txt"
    assert uploads.remove_document(str(stored), pipeline) == "Removed gone.txt."
    assert not stored.exists()
    assert [source.endswith("kept.txt") for source in indexed(pipeline)] == [True]
    kept = next(iter(indexed(pipeline)))
    assert uploads.remove_document(kept, pipeline) == "Removed kept.txt."
    assert (tmp_path / "kept.txt").exists()  # not an upload: only taken out of the index
    assert uploads.remove_document(kept, pipeline) == "kept.txt was not indexed."


def test_documents_are_listed_by_name_and_by_path_when_names_clash():
    sources = ["seeds/a.txt", "/x/uploads/b.pdf", "/x/uploads/a.txt"]
    assert uploads.indexed_documents(sources) == [
        ("/x/uploads/a.txt", "/x/uploads/a.txt"),
        ("b.pdf", "/x/uploads/b.pdf"),
        ("seeds/a.txt", "seeds/a.txt"),
    ]
