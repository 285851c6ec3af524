"""The catalog's compact vectors (schema 5): each chunk's vector as float16, its sentence
vectors as int8 with a scale a row, and the in-place migration of a schema 4 catalog."""

from __future__ import annotations

import numpy as np
import pytest

from index import NeedsMigrationError, ingest, open_index
from index.catalog import dequantized, quantized
from index.store import writing
from tests.conftest import SEEDS


def seed_chunk_sentences(embedder) -> list[np.ndarray]:
    """Real sentence vectors (float16, as the embedder pools them) of the seed article's text."""
    text = next(SEEDS.iterdir()).read_text(encoding="utf-8")
    _, sentences = embedder.embed_chunks([text[i : i + 1200] for i in range(0, len(text), 1200)])
    return [s.vectors for s in sentences]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_int8_sentence_vectors_decode_within_half_a_step(embedder):
    """Measured on the seed article's 29 sentences: every value within half its row's step
    (the row's largest |value| / 127), every cosine to the float16 original >= 0.99996."""
    for rows in seed_chunk_sentences(embedder):
        original = rows.astype(np.float32)
        decoded = dequantized(quantized(rows), len(rows))
        steps = np.abs(original).max(axis=1, keepdims=True) / 127
        assert (np.abs(decoded - original) <= 0.501 * steps).all()
        assert cosines(decoded, original).min() >= 0.9999


def test_a_row_with_no_pooled_vector_stays_zero():
    rows = np.zeros((2, 384), np.float16)
    rows[1, 0] = 1
    decoded = dequantized(quantized(rows), 2)
    assert not decoded[0].any() and decoded[1, 0] == 1 and decoded[1, 1:].sum() == 0


def as_schema_4(catalog) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Rewrite a catalog as schema 4 kept it: float32 vectors, float16 sentence vectors, no
    `vector_format`. The float32 vectors are the compact ones plus a little noise, so a
    migration that left them alone would show. Returns rowid -> (vector, sentence vectors)."""
    rng = np.random.default_rng(4)
    old = {}
    with catalog._transaction():
        for rowid, vector, spans in catalog._execute("SELECT rowid, vector, sentence_spans FROM chunks").fetchall():
            full = np.frombuffer(vector, np.float16).astype(np.float32) + rng.normal(0, 1e-4, len(vector) // 2)
            rows = len(spans) // 8
            sentences = rng.normal(0, 0.05, (rows, 384)).astype(np.float16)
            old[rowid] = (full.astype(np.float32), sentences)
            catalog._execute("UPDATE chunks SET vector = ?, sentence_vectors = ? WHERE rowid = ?",
                             (old[rowid][0].tobytes(), sentences.tobytes(), rowid))
        catalog._execute("DELETE FROM meta WHERE key = 'vector_format'")
        catalog._execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    return old


def test_a_schema_4_catalog_is_compacted_in_place_without_the_model(index_config):
    ingest([SEEDS], index_config)
    with writing(index_config) as index:
        old = as_schema_4(index.catalog)
    with pytest.raises(NeedsMigrationError, match="rag check --repair"):
        open_index(index_config)

    with writing(index_config, embedder=lambda: pytest.fail("compacting loaded the embedding model")):
        pass
    with open_index(index_config) as index:
        rows = index.catalog._execute("SELECT rowid, vector_id FROM chunks").fetchall()
        assert {rowid for rowid, _ in rows} == set(old)
        for rowid, vector_id in rows:
            vector, sentences = old[rowid]
            stored = index.catalog.vectors([vector_id])[1][0]
            assert np.array_equal(stored, vector.astype(np.float16).astype(np.float32))
            chunk = index.catalog.chunks_by_vector([vector_id])[vector_id]
            found = index.catalog.vectors_by_text_hash([chunk.text_hash])[chunk.text_hash][1].vectors
            assert cosines(found, sentences.astype(np.float32)).min() >= 0.9999
            # The store was rebuilt from the compact vectors (Chroma gives them back to ~1e-8),
            # not left with the old ones, 1e-4 away.
            held = index.vectors._collection().get(ids=[str(vector_id)], include=["embeddings"])
            assert np.abs(held["embeddings"][0] - stored).max() < 1e-6
