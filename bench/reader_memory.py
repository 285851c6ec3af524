"""The torch reader's resident memory and read time over many questions, with the real
tokens' rows padded to `ROWS_STEP` as shipped and unpadded (1, as before).

oneDNN builds and keeps a primitive for each shape it multiplies: unpadded, each question's
count of real tokens was a new shape, and a web-chat process grew with every question
(rag/reader_net.py, `_packed`). Each variant runs in a fresh process (the primitive cache is
the process's): ClapNQ dev questions with their passages, as the extractive answerer reads
them, VmRSS after every `--every` reads and the median read of the last half.

    .venv/bin/python bench/reader_memory.py [--questions 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLAPNQ = ROOT.parent / "shared" / "eval" / "clapnq" / "clapnq_dev_answerable.jsonl"


def resident_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) // 1024


def run_variant(precision: str, rows_step: int, questions: int, every: int) -> dict:
    """In this process: the packaged reader on torch reading `questions` ClapNQ questions."""
    from rag import reader_net
    from rag.reader import encode_pair

    reader_net.ROWS_STEP = rows_step
    reader = reader_net.TorchReader.load(bf16=precision == "bf16")
    rows = [json.loads(line) for line in CLAPNQ.read_text().splitlines()[:questions]]
    resident, seconds = {0: resident_mb()}, []
    for n, row in enumerate(rows, start=1):
        windows = [w for p in row["passages"] for w in encode_pair(reader.tokenizer, row["input"], p["text"])]
        started = time.perf_counter()
        reader.window_logits(windows)
        seconds.append(time.perf_counter() - started)
        if n % every == 0:
            resident[n] = resident_mb()
    return {"precision": precision, "rows_step": rows_step, "resident_mb": resident,
            "read_ms_p50_second_half": round(statistics.median(seconds[len(seconds) // 2:]) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--variant", nargs=2, metavar=("PRECISION", "ROWS_STEP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant[0], int(args.variant[1]), args.questions, args.every)))
        return
    from rag.reader_net import ROWS_STEP
    from index.vectors.precision import cpu_flags, resolve_precision

    precisions = ["float32"] + (["bf16"] if resolve_precision("auto", cpu_flags()) == "bf16" else [])
    variants = []
    for precision in precisions:
        for rows_step in (1, ROWS_STEP):
            command = [sys.executable, __file__, "--questions", str(args.questions), "--every", str(args.every),
                       "--variant", precision, str(rows_step)]
            out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            variants.append(json.loads(out.stdout.splitlines()[-1]))
            print(json.dumps(variants[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reader-memory.json").write_text(json.dumps(
        {"command": " ".join(["bench/reader_memory.py", *sys.argv[1:]]), "questions": args.questions,
         "variants": variants}, indent=1) + "\n")


if __name__ == "__main__":
    main()
