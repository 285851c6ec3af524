"""The shipped reader (rag/reader.py): its weights are the ones the model card describes, it
reads a few clear cases right, with exact offsets, and its numpy pass reads as the torch
network it was trained as (rag/reader_net.py). Nothing is trained here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from rag.errors import ModelError
from rag.reader import WEIGHTS, Reader, base_folder, file_sha256, weights_metadata

# rag/data/reader/MODEL_CARD.md gives the same hash and the command that wrote the file.
SHIPPED_SHA256 = "a6490aec0ce7d6311799213734a32ef1d3f01cae3305c879a5235029ce98ea3b"

TOWER = ("The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was designed by the "
         "engineering company of Gustave Eiffel and completed in 1889 for the World's Fair.")
ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLE = ROOT / "seeds" / "deepseek-wake-up-call-market-reaction.txt"
SEED_GOLD = [json.loads(line) for line in (ROOT / "tests" / "data" / "seed_gold.jsonl").open()]
FILLER = "The river flooded the lower town in the spring, and the mills stood idle for weeks. "


def test_the_shipped_weights_are_those_of_the_model_card():
    assert file_sha256(WEIGHTS) == SHIPPED_SHA256


def test_the_weights_were_trained_over_the_packaged_base():
    assert weights_metadata()["base_sha256"] == file_sha256(base_folder() / "model.safetensors")


def test_a_clear_answer_gets_its_span_with_exact_offsets(reader):
    reading = reader.read("When was the Eiffel Tower completed?", [TOWER])[0]
    assert reading.probability > 0.5
    assert TOWER[reading.start : reading.end] == "1889"


def test_a_passage_that_does_not_answer_gets_a_low_probability_and_no_span(reader):
    reading = reader.read("How many people live in Tokyo?", [TOWER])[0]
    assert reading.probability < 0.5
    assert (reading.start, reading.end) == (0, 0)


def test_an_answer_beyond_the_first_window_is_found_in_a_later_one(reader):
    passage = FILLER * 30 + TOWER  # ~600 tokens: three windows of 256
    reading = reader.read("When was the Eiffel Tower completed?", [passage])[0]
    assert passage[reading.start : reading.end] == "1889"


def test_a_batch_reads_each_passage_as_it_is_read_alone(reader):
    question = "Who designed the Eiffel Tower?"
    passages = [TOWER, FILLER * 30 + TOWER, FILLER]
    together = reader.read(question, passages)
    alone = [reader.read(question, [passage])[0] for passage in passages]
    assert [(r.start, r.end) for r in together] == [(r.start, r.end) for r in alone]
    assert [r.probability for r in together] == pytest.approx([r.probability for r in alone], abs=1e-5)


def test_no_passages_no_readings(reader):
    assert reader.read("When was the Eiffel Tower completed?", []) == []


def test_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="make train-reader"):
        Reader.load(tmp_path / "reader.safetensors")


def test_weights_without_the_reader_heads_are_a_clear_error(tmp_path):
    save_file({"classifier.weight": np.zeros((2, 384), np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ModelError, match="not the reader's weights"):
        Reader.load(tmp_path / "other.safetensors")


def test_the_numpy_pass_reads_as_the_torch_network_it_was_trained_as(reader):
    """Windows read one by one unpadded on numpy, against the torch network's padded batch:
    the same probabilities to float precision and the same spans, every passage given its
    best span (span_floor 0)."""
    from rag.reader_net import TorchReader

    torch_reader = TorchReader.load()
    passages = [TOWER, FILLER * 30 + TOWER, FILLER]
    for question in ("When was the Eiffel Tower completed?", "Who designed the Eiffel Tower?",
                     "How many people live in Tokyo?"):
        on_numpy = reader.read(question, passages, span_floor=0.0)
        on_torch = torch_reader.read(question, passages, span_floor=0.0)
        assert [(r.start, r.end) for r in on_numpy] == [(r.start, r.end) for r in on_torch]
        assert [r.probability for r in on_numpy] == pytest.approx([r.probability for r in on_torch], abs=1e-4)


def test_reading_skips_the_padding_and_gives_the_padded_batchs_logits():
    """Reading runs the layers on the real tokens alone (ReaderNet.forward); training runs
    them on the padded batch. With dropout off, the two give the same logits."""
    import torch

    from rag.reader import encode_pair
    from rag.reader_net import TorchReader, batch_tensors

    torch_reader = TorchReader.load()
    windows = [w for passage in (TOWER, FILLER * 30 + TOWER, FILLER)
               for w in encode_pair(torch_reader.tokenizer, "Who designed the Eiffel Tower?", passage)]
    batch = batch_tensors(windows)
    assert not batch[2].all()  # some padding to skip
    net = torch_reader.net
    with torch.no_grad():
        read = net.eval()(*batch)
        net.dropout = 0.0
        padded = net.train()(*batch)
    real = batch[2]
    assert torch.allclose(read[0], padded[0], atol=1e-5)
    for logits, padded_logits in zip(read[1:], padded[1:]):
        assert torch.allclose(logits[real], padded_logits[real], atol=1e-5)


def test_reading_multiplies_rows_in_steps_whatever_the_question():
    """Questions of different lengths put their real tokens' rows through the layers in
    multiples of ROWS_STEP: oneDNN keeps a primitive per shape, and one a question grew the
    web chat's memory without end (bench/reader_memory.py)."""
    from rag.reader import encode_pair
    from rag.reader_net import ROWS_STEP, TorchReader

    torch_reader = TorchReader.load()
    rows_in, real_tokens = [], []
    hook = torch_reader.net.encoder.layer[0].intermediate.dense.register_forward_hook(
        lambda module, inputs, output: rows_in.append(inputs[0].shape[0]))
    try:
        for question in ("Who designed it?", "Who designed the Eiffel Tower in Paris, and when was it completed?"):
            windows = [w for passage in (TOWER, FILLER * 3) for w in encode_pair(torch_reader.tokenizer, question, passage)]
            real_tokens.append(sum(len(w.ids) for w in windows))
            torch_reader.window_logits(windows)
    finally:
        hook.remove()
    assert any(n % ROWS_STEP for n in real_tokens)  # the steps are not the questions' own counts
    assert rows_in == [n + -n % ROWS_STEP for n in real_tokens]


def test_bf16_reads_the_seed_questions_as_float32_does(reader):
    """The web chat's reader (torch under bf16 autocast, rag/reader_net.py) against numpy's
    float32, each seed question with the seed article: the same spans, and probabilities
    within 0.03 (0.011 at most measured here, 0.010 on 500 SQuAD questions: docs/results.md)."""
    from rag.reader_net import TorchReader

    bf16 = TorchReader.load(bf16=True)
    article = [SEED_ARTICLE.read_text()]
    for gold in SEED_GOLD:
        on_numpy, on_bf16 = reader.read(gold["question"], article)[0], bf16.read(gold["question"], article)[0]
        assert (on_bf16.start, on_bf16.end) == (on_numpy.start, on_numpy.end), gold["question"]
        assert on_bf16.probability == pytest.approx(on_numpy.probability, abs=0.03), gold["question"]
