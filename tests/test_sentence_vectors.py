"""Sentence vectors pooled at ingest from each chunk's forward pass, stored with the chunk,
and read by the extractive answerer instead of embedding sentences per question."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from index import IndexConfig, NeedsMigrationError, current_generation, ingest, open_index
from index.chunking import sentence_spans


def stored_sentences(home) -> dict[str, tuple]:
    """chunk id -> (chunk text, its stored SentenceVectors)."""
    with open_index(IndexConfig(home)) as index:
        chunks = index.catalog.chunks(index.catalog.chunk_ids())
        hashes = {c.id: row[0] for c in chunks.values()
                  for row in index.catalog.db.execute("SELECT text_hash FROM chunks WHERE id = ?", (c.id,))}
        stored = index.catalog.vectors_by_text_hash(list(hashes.values()))
    return {i: (chunks[i].text, stored[h][1]) for i, h in hashes.items()}


def test_every_chunk_keeps_a_vector_for_each_of_its_sentences(seed_home):
    for text, sentences in stored_sentences(seed_home).values():
        assert sentences.spans.tolist() == [list(span) for span in sentence_spans(text)]
        assert np.allclose(np.linalg.norm(sentences.vectors.astype(np.float32), axis=1), 1, atol=2e-3)


def test_a_sentence_vector_is_the_mean_of_its_tokens_in_the_chunk(seed_home, embedder):
    """Checked against sentence-transformers' own token embeddings of the whole chunk,
    averaged over the tokens the model's tokenizer places inside each sentence."""
    model = embedder.model
    # float16 storage; a bf16 forward pass (the seed index's, on a CPU with bf16) moves an
    # element by up to ~2.2e-3 (seen here) more.
    tolerance = 2e-3 if embedder.precision == "float32" else 5e-3
    for text, sentences in stored_sentences(seed_home).values():
        tokens = model.encode(text, output_value="token_embeddings").numpy()
        offsets = np.array(model.tokenizer(text, return_offsets_mapping=True)["offset_mapping"])
        special = np.array(model.tokenizer(text, return_special_tokens_mask=True)["special_tokens_mask"], bool)
        for (start, end), stored in zip(sentences.spans, sentences.vectors):
            inside = ~special & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
            mean = tokens[inside].mean(0)
            assert np.abs(stored - mean / np.linalg.norm(mean)).max() < tolerance


def test_a_new_question_embeds_only_itself_and_its_leading_sentences(seed_pipeline):
    """Every candidate sentence's vector comes from the index; the only sentences embedded
    are the few leading ones, rescored alone (rag/answerers/extractive.py `_rescored_alone`)."""
    seed_pipeline.embedder.forget_cached()
    question = "How much market value did Nvidia lose?"
    answer = seed_pipeline.ask(question)
    assert not answer.refused
    embedded = set(seed_pipeline.embedder._recent) - {question}
    assert question in seed_pipeline.embedder._recent
    assert answer.citations[0].quote in embedded
    assert len(embedded) <= seed_pipeline.answerer("extractive").rescored


def make_version_2(home) -> None:
    """The index as the version before sentence vectors were kept wrote it."""
    db = sqlite3.connect(home / f"catalog-{current_generation(IndexConfig(home))}.sqlite")
    with db:
        db.execute("UPDATE chunks SET sentence_spans = NULL, sentence_vectors = NULL")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.close()


def test_an_index_from_before_sentence_vectors_is_migrated_on_first_write(seed_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(seed_home, home)
    before = stored_sentences(home)
    make_version_2(home)
    with pytest.raises(NeedsMigrationError, match="rag check --repair"):
        open_index(IndexConfig(home))

    report = ingest([], IndexConfig(home))
    assert report.chunks_embedded == 0, "migrating is not re-indexing"
    after = stored_sentences(home)
    assert after.keys() == before.keys()
    for chunk_id, (_, sentences) in after.items():
        assert np.array_equal(sentences.spans, before[chunk_id][1].spans)
        assert np.abs(sentences.vectors.astype(np.float32) - before[chunk_id][1].vectors).max() < 2e-3
