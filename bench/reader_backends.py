"""The reader's warm time per question (5 SQuAD paragraphs, bench/reader_eval.py's
`warm_latency_ms`) on numpy, one window at a time unpadded, with 1 and 2 BLAS threads,
against the torch network reading the windows in one padded batch, with 1 and 2 threads, in
float32 and under bf16 autocast (the CPU's own bf16 when it has it: `avx512_bf16` here). Run
the variants in one process, interleaved in rounds, so that the load of a shared machine
falls on each alike.

    nice -n 10 python bench/reader_backends.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

import torch
from threadpoolctl import threadpool_limits

from reader_eval import EVAL, warm_latency_ms
from rag.reader import Reader
from rag.reader_net import TorchReader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    numpy_reader = Reader.load()
    torch_readers = {"float32": TorchReader.load(), "bf16": TorchReader.load(bf16=True)}
    variants = {
        "numpy, 1 BLAS thread": lambda: _limited(numpy_reader, 1),
        "numpy, 2 BLAS threads": lambda: _limited(numpy_reader, 2),
        **{f"torch, {threads} thread(s), {precision}, padded batch":
           (lambda threads=threads, precision=precision: _on_torch(torch_readers[precision], threads))
           for threads in (1, 2) for precision in ("float32", "bf16")},
    }
    figures = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            figures[name].append(run()["p50_ms"])
    print(json.dumps({"load_average": os.getloadavg(),
                      "p50_ms_median_of_rounds": {n: round(statistics.median(f), 1) for n, f in figures.items()},
                      "p50_ms_rounds": {n: [round(x, 1) for x in f] for n, f in figures.items()}}, indent=2))


def _on_torch(reader: TorchReader, threads: int) -> dict:
    # The reader's own autocast (TorchReader.bf16), not one around it: its inner
    # autocast(enabled=False) would turn an outer one off.
    torch.set_num_threads(threads)
    return warm_latency_ms(reader, EVAL)


def _limited(reader: Reader, threads: int) -> dict:
    with threadpool_limits(threads, user_api="blas"):
        return warm_latency_ms(reader, EVAL)


if __name__ == "__main__":
    main()
