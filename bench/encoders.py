"""Does the hand-written `BertEncoder` still beat sentence-transformers on this machine?

    .venv/bin/python bench/encoders.py     # ~7 min on 2 idle cores; writes bench/results/encoders.json
    .venv/bin/python bench/encoders.py --repeats 1 --ingest-repeats 1 --no-compile   # quick look

Same texts for every variant, each variant warmed first. Timings go round-robin over the
variants call by call, so load from other processes (this machine is shared) falls on all
alike; figures are medians, and the BertEncoder ratios also come as medians of paired
ratios (calls timed side by side), which hold up better under such load.

Workloads (text from ../shared/eval/clapnq):
  ingest     512 chunks of 200-254 tokens (passage sentences packed up to the window, as
             index/chunking.py does), in encode calls of 64 chunks, chunks/s
  question   50 questions, one encode call each, p50 ms
  sentences  20 groups of 24 passage sentences of 10-40 words (what the extractive answerer
             embeds per question), one encode call per group, p50 ms
Cold start: a fresh `python -c` that imports, loads and embeds one question, median of 3.

Variants: BertEncoder (index/vectors/torch_bert.py); SentenceTransformer.encode on torch with
batch_size 8 (index/vectors/embedder.py's setting) and the default 32; the same with a lone
question on one core (BertEncoder's rule); with bf16 autocast; with torch.compile;
backend="onnx" and backend="openvino". A variant that cannot run here is recorded with the
reason. GOMP_SPINCOUNT is set as index/vectors/embedder.py sets it; torch keeps its default threads.
"""

from __future__ import annotations

import os

# As index/vectors/embedder.py sets them before torch loads.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import contextlib
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from index.vectors.embedder import default_model_path  # noqa: E402
from index.vectors.torch_bert import BertEncoder, one_core  # noqa: E402

CLAPNQ = ROOT.parent / "shared" / "eval" / "clapnq"
OUT = ROOT / "bench" / "results" / "encoders.json"
MODEL = Path(default_model_path())
CHUNK_TOKENS = (200, 254)  # the window (256) less [CLS] and [SEP]
INGEST_CALL = 64  # chunks per encode call in the ingest workload


# ---------------------------------------------------------------- texts


def load_texts(n_chunks=512, n_questions=50, n_groups=20, group_size=24):
    records = [json.loads(line) for f in sorted(CLAPNQ.glob("*.jsonl")) for line in f.open()]
    tokenizer = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()  # tokenizer.json pads to 128

    # Chunks: whole sentences of the passages, packed up to 254 tokens, kept from 200.
    sentences = list(dict.fromkeys(s for r in records for p in r["passages"] for s in p["sentences"]))
    counts = [len(e.ids) - 2 for e in tokenizer.encode_batch(sentences)]
    chunks, current, tokens = [], [], 0
    for sentence, count in zip(sentences, counts):
        if tokens + count > CHUNK_TOKENS[1]:
            if tokens >= CHUNK_TOKENS[0]:
                chunks.append(" ".join(current))
            current, tokens = [], 0
        if count <= CHUNK_TOKENS[1]:
            current.append(sentence)
            tokens += count
    chunks = chunks[:n_chunks]
    assert len(chunks) == n_chunks, f"only {len(chunks)} chunks in {CLAPNQ}"

    # Questions: spread over both files (answerable, unanswerable).
    step = len(records) // n_questions
    questions = [records[i * step]["input"] for i in range(n_questions)]

    # Sentence groups: 24 consecutive passage sentences of 10-40 words (a question's top
    # passages), groups spread over the data.
    short = [s for s in sentences if 10 <= len(s.split()) <= 40]
    spacing = len(short) // n_groups
    groups = [short[i * spacing : i * spacing + group_size] for i in range(n_groups)]

    chunk_tokens = [len(e.ids) for e in tokenizer.encode_batch(chunks)]
    question_tokens = [len(e.ids) for e in tokenizer.encode_batch(questions)]
    sentence_tokens = [len(e.ids) for e in tokenizer.encode_batch([s for g in groups for s in g])]
    about = {
        "source": str(CLAPNQ.relative_to(ROOT.parent)),
        "chunks": len(chunks),
        "chunk_tokens_mean": round(statistics.mean(chunk_tokens), 1),
        "chunk_tokens_min_max": [min(chunk_tokens), max(chunk_tokens)],
        "questions": len(questions),
        "question_tokens_mean": round(statistics.mean(question_tokens), 1),
        "sentence_groups": len(groups),
        "sentences_per_group": group_size,
        "sentence_tokens_mean": round(statistics.mean(sentence_tokens), 1),
        "note": "token counts include [CLS] and [SEP]",
    }
    return chunks, questions, groups, about


# ---------------------------------------------------------------- variants


def bf16_support() -> tuple[bool, str]:
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    found = sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile"})
    if not found:
        return False, "CPU has neither avx512_bf16 nor amx_bf16: bf16 matmuls would be emulated"
    if not torch.backends.mkldnn.is_available():
        return False, "torch built without oneDNN (mkldnn)"
    return True, "CPU flags: " + ", ".join(found)


def sentence_transformer(**kwargs):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(str(MODEL), local_files_only=True, device="cpu", **kwargs)


def st_encoder(model, batch_size, context=lambda texts: contextlib.nullcontext()):
    def encode(texts):
        with context(texts):
            return model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            ).astype(np.float32, copy=False)

    return encode


ST_ONE_CORE = "ST torch bs=8, 1 core for a lone question"
# Variants whose ingest (large batches) runs the same code as another: not timed twice.
SAME_AS = {ST_ONE_CORE: "ST torch bs=8"}


def one_core_if_short(texts):
    """BertEncoder's rule (index/vectors/torch_bert.py): a small forward pass (a question) runs on one core."""
    short = len(texts) == 1 and len(texts[0].split()) <= 40
    return one_core() if short else contextlib.nullcontext()


def bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def build_variants(compile_: bool):
    """name -> encode function, and name -> reason for those that cannot run here."""
    variants, unavailable = {}, {}
    variants["BertEncoder"] = BertEncoder(MODEL).encode

    st = sentence_transformer()
    variants["ST torch bs=8"] = st_encoder(st, 8)
    variants["ST torch bs=32 (default)"] = st_encoder(st, 32)
    # BertEncoder runs a lone short text on one core (index/vectors/torch_bert.py); the same tweak on ST.
    variants[ST_ONE_CORE] = st_encoder(st, 8, one_core_if_short)

    bf16, why = bf16_support()
    if bf16:
        variants["ST torch bs=8 + bf16 autocast"] = st_encoder(st, 8, lambda texts: bf16_autocast())
        # Not a sentence-transformers path: would bf16 help the hand-written encoder instead?
        # Autocast is per thread, and BertEncoder runs a lone question on a thread of its
        # own (index/vectors/torch_bert.py), so its questions stay in float32 here.
        bert = variants["BertEncoder"]
        variants["BertEncoder + bf16 autocast (extra)"] = lambda texts: _under(bf16_autocast, bert, texts)
    else:
        unavailable["ST torch + bf16 autocast"] = why

    if compile_:
        # ST calls the transformers model's .forward directly, so compile that method.
        compiled = sentence_transformer()
        compiled[0].model.forward = torch.compile(compiled[0].model.forward, dynamic=True)
        variants["ST torch bs=8 + torch.compile"] = st_encoder(compiled, 8)
    else:
        unavailable["ST torch + torch.compile"] = "skipped (--no-compile)"

    onnx_files = sorted(str(p.relative_to(MODEL)) for p in MODEL.rglob("*.onnx"))
    for backend, needs in (("onnx", ["optimum", "onnxruntime", "onnx"]), ("openvino", ["optimum", "openvino"])):
        name = f"ST backend={backend}"
        try:
            variants[name] = st_encoder(sentence_transformer(backend=backend), 8)
        except Exception as e:  # noqa: BLE001 - any failure to load is the finding
            missing = [m for m in needs if importlib.util.find_spec(m) is None]
            unavailable[name] = (
                f"{type(e).__name__}: {str(e).splitlines()[0]} | modules missing: {', '.join(missing) or 'none'}"
                f" | model folder .onnx files: {onnx_files or 'none'}"
                + (
                    " | sentence-transformers imports optimum.onnxruntime before looking for an .onnx file,"
                    " so even a pre-exported model would not load; exporting one without optimum"
                    " (torch.onnx.export) needs the onnx package, also absent; offline, nothing can be installed"
                    if backend == "onnx"
                    else " | offline, nothing can be installed"
                )
            )
    return variants, unavailable


def _under(context, encode, texts):
    with context():
        return encode(texts)


# ---------------------------------------------------------------- measurement


def warm(encode, chunks, questions, groups):
    start = time.perf_counter()
    encode(chunks[:64])
    for q in questions[:5]:
        encode([q])
    for g in groups[:2]:
        encode(g)
    return time.perf_counter() - start


def timed(encode, texts) -> float:
    start = time.perf_counter()
    encode(texts)
    return time.perf_counter() - start


class Quiet:
    """Other sessions share this machine and run test suites in bursts. Before each round of
    calls, wait (within a total budget) for a second in which the CPUs are mostly idle, and
    keep count of the rounds that still started busy."""

    def __init__(self, budget_s: float, busy_limit: float = 0.15):
        self.budget_s, self.busy_limit = budget_s, busy_limit
        self.waited_s, self.rounds, self.busy_rounds = 0.0, 0, 0

    def wait(self):
        self.rounds += 1
        while (busy := _cpu_busy()) >= self.busy_limit:
            if self.waited_s >= self.budget_s:
                self.busy_rounds += 1
                return
            time.sleep(2)
            self.waited_s += 3  # the 1 s sample and the 2 s sleep

    def report(self):
        return {"rounds": self.rounds, "rounds_started_busy": self.busy_rounds, "waited_s": round(self.waited_s),
                "rule": f"a round waits for a 1 s sample with < {self.busy_limit:.0%} of the CPUs busy, "
                        f"within {self.budget_s:.0f} s of waiting in all"}


def _cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy over `seconds` (this process idles meanwhile)."""

    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def measure(variants, chunks, questions, groups, repeats, ingest_repeats, quiet):
    """Raw timings, round-robin over the variants call by call (per slice of chunks, per
    question, per group): load from other processes on a shared machine then falls on every
    variant alike, and the i-th timings of two variants were taken side by side (the paired
    ratios below). Ingest embeds the chunks in calls of INGEST_CALL, as ingestion embeds a
    batch of documents' chunks per call."""
    raw = {"ingest_call_s": {}, "question_ms": {}, "sentences_ms": {}}
    for kind in raw:
        raw[kind] = {name: [] for name in variants}
    for name in SAME_AS:
        del raw["ingest_call_s"][name]
    slices = [chunks[i : i + INGEST_CALL] for i in range(0, len(chunks), INGEST_CALL)]
    for r in range(ingest_repeats):
        for piece in slices:
            quiet.wait()
            for name in raw["ingest_call_s"]:
                raw["ingest_call_s"][name].append(timed(variants[name], piece))
        done = {n: len(chunks) / sum(t[-len(slices):]) for n, t in raw["ingest_call_s"].items()}
        print(f"  ingest {r + 1}/{ingest_repeats}, load {os.getloadavg()[0]:.2f}: "
              + ", ".join(f"{n} {v:.1f}" for n, v in done.items()) + " chunks/s", flush=True)
    for r in range(repeats):
        for i, q in enumerate(questions):
            if i % 10 == 0:
                quiet.wait()
            for name, encode in variants.items():
                raw["question_ms"][name].append(1000 * timed(encode, [q]))
        for i, g in enumerate(groups):
            if i % 5 == 0:
                quiet.wait()
            for name, encode in variants.items():
                raw["sentences_ms"][name].append(1000 * timed(encode, g))
        print(f"  questions and sentences {r + 1}/{repeats}, load {os.getloadavg()[0]:.2f}", flush=True)
    return raw


def summarize(raw, n_chunks):
    calls = -(-n_chunks // INGEST_CALL)
    out = {}
    for name, ms in raw["question_ms"].items():
        per_call = raw["ingest_call_s"].get(name) or raw["ingest_call_s"][SAME_AS[name]]
        totals = [sum(per_call[i : i + calls]) for i in range(0, len(per_call), calls)]
        out[name] = {
            "ingest_chunks_per_s": round(n_chunks / statistics.median(totals), 2),
            "ingest_chunks_per_s_best": round(n_chunks / min(totals), 2),
            "question_p50_ms": round(float(np.percentile(ms, 50)), 2),
            "question_p90_ms": round(float(np.percentile(ms, 90)), 2),
            "sentences_p50_ms": round(float(np.percentile(raw["sentences_ms"][name], 50)), 2),
            "sentences_p90_ms": round(float(np.percentile(raw["sentences_ms"][name], 90)), 2),
        }
        if name in SAME_AS:
            out[name]["ingest_note"] = f"same code path as {SAME_AS[name]} for batches; figure copied"
    return out


def agreement(variants, texts):
    reference = variants["BertEncoder"](texts)
    out = {}
    for name, encode in variants.items():
        vectors = encode(texts)
        cosine = np.sum(vectors * reference, axis=1) / (
            np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
        )
        out[name] = {"max_abs_diff": float(np.abs(vectors - reference).max()), "min_cosine": float(cosine.min())}
    return out


COLD = {
    "python -c pass (interpreter only)": "pass",
    "BertEncoder": (
        "from pathlib import Path; from index.vectors.torch_bert import BertEncoder; "
        "BertEncoder(Path({path!r})).encode([{q!r}])"
    ),
    "Embedder (index.vectors.embedder, the rag ask path)": (
        "from index.vectors.embedder import load_embedder; load_embedder({path!r}).embed_query({q!r})"
    ),
    "SentenceTransformer torch": (
        "from sentence_transformers import SentenceTransformer; "
        "SentenceTransformer({path!r}, local_files_only=True, device='cpu')"
        ".encode([{q!r}], normalize_embeddings=True)"
    ),
}


def cold_start(question, repeats, quiet):
    env = dict(os.environ, GOMP_SPINCOUNT="30000", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    seconds = {name: [] for name in COLD}
    for _ in range(repeats):
        quiet.wait()
        for name, code in COLD.items():
            code = code.format(path=str(MODEL), q=question)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
            seconds[name].append(time.perf_counter() - start)
    return {name: {"median_s": round(statistics.median(v), 3), "runs_s": [round(x, 3) for x in v]}
            for name, v in seconds.items()}


# ---------------------------------------------------------------- report


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "bf16": bf16_support()[1], "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"),
            "python": platform.python_version()}


def versions():
    out = {}
    for name in ("torch", "sentence_transformers", "transformers", "tokenizers", "onnxruntime", "optimum", "openvino"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    return out


def ratios(raw, results, cold):
    """BertEncoder against the best sentence-transformers variant per workload (>1: BertEncoder
    faster): the ratio of the medians, and the median of paired ratios (calls timed side by
    side), which is steadier when other processes load the machine. Once against every ST
    variant, once against those in float32 (the same vectors, to 1e-6), and the bf16 pair."""
    st_all = [n for n in results if n.startswith("ST ")]
    pools = {"any": st_all, "float32": [n for n in st_all if "bf16" not in n]}
    out = {}
    for pool, st in pools.items():
        for kind, key, label, higher_better in (
            ("ingest_call_s", "ingest_chunks_per_s", "ingest", True),
            ("question_ms", "question_p50_ms", "question", False),
            ("sentences_ms", "sentences_p50_ms", "sentences", False),
        ):
            out[f"{label} vs {pool}"] = _versus("BertEncoder", st, kind, key, higher_better, raw, results)
    bert_bf16, st_bf16 = "BertEncoder + bf16 autocast (extra)", "ST torch bs=8 + bf16 autocast"
    if bert_bf16 in results and st_bf16 in results:
        for kind, key, label, higher_better in (
            ("ingest_call_s", "ingest_chunks_per_s", "ingest", True),
            ("question_ms", "question_p50_ms", "question", False),
            ("sentences_ms", "sentences_p50_ms", "sentences", False),
        ):
            out[f"{label}, both bf16"] = _versus(bert_bf16, [st_bf16], kind, key, higher_better, raw, results)
    out["cold start"] = {
        "best_st": "SentenceTransformer torch",
        "bert_speedup": round(cold["SentenceTransformer torch"]["median_s"] / cold["BertEncoder"]["median_s"], 2),
        "bert_saves_s": round(cold["SentenceTransformer torch"]["median_s"] - cold["BertEncoder"]["median_s"], 2),
    }
    return out


def _versus(bert, st, kind, key, higher_better, raw, results):
    # The one-core variant differs from its twin only for a lone question.
    timed_st = [n for n in st if n in raw[kind] and (kind == "question_ms" or n not in SAME_AS)]
    pick = max if higher_better else min
    best = pick(timed_st, key=lambda n: results[n][key])
    speedup = results[bert][key] / results[best][key] if higher_better else results[best][key] / results[bert][key]
    return {"best_st": best, "bert_speedup": round(speedup, 2), "bert_speedup_paired": _paired(raw[kind], best, bert)}


def _paired(times, name, bert="BertEncoder"):
    return round(float(np.median(np.array(times[name]) / np.array(times[bert]))), 2)


def print_table(results, agree, unavailable, cold, ratio):
    head = (f"{'variant':44} {'ingest ch/s':>11} {'(best)':>6} {'question p50':>12} {'p90':>8} {'sent24 p50':>10}"
            f" {'max|d|':>9} {'min cos':>9}")
    print("\n" + head + "\n" + "-" * len(head))
    for name, r in results.items():
        a = agree[name]
        print(f"{name:44} {r['ingest_chunks_per_s']:11.1f} {r['ingest_chunks_per_s_best']:6.1f}"
              f" {r['question_p50_ms']:10.2f}ms {r['question_p90_ms']:6.1f}ms {r['sentences_p50_ms']:8.1f}ms"
              f" {a['max_abs_diff']:9.2e} {a['min_cosine']:9.6f}")
    for name, why in unavailable.items():
        print(f"{name:44} unavailable: {why}")
    print("\ncold start (fresh process: import, load, embed one question)")
    for name, c in cold.items():
        print(f"  {name:45} {c['median_s']:6.2f} s")
    print("\nBertEncoder vs best sentence-transformers variant (>1: BertEncoder faster)")
    for workload, r in ratio.items():
        paired = f" (paired {r['bert_speedup_paired']:.2f}x)" if "bert_speedup_paired" in r else ""
        print(f"  {workload:22} {r['bert_speedup']:5.2f}x{paired}  vs {r['best_st']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions and sentence groups")
    parser.add_argument("--ingest-repeats", type=int, default=2, help="passes over the 512 chunks")
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--max-wait", type=float, default=300, help="seconds, in all, to wait for an idle machine")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant (~1 min to compile)")
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()

    chunks, questions, groups, about = load_texts()
    print(f"texts: {about}")
    variants, unavailable = build_variants(compile_=not args.no_compile)
    warm_s = {}
    for name, encode in variants.items():
        warm_s[name] = round(warm(encode, chunks, questions, groups), 2)
        print(f"warmed {name} in {warm_s[name]} s", flush=True)

    agree = agreement(variants, chunks[:64] + questions + groups[0])
    quiet = Quiet(args.max_wait)
    raw = measure(variants, chunks, questions, groups, args.repeats, args.ingest_repeats, quiet)
    results = summarize(raw, len(chunks))
    load_measured = os.getloadavg()
    print("cold starts...", flush=True)
    cold = cold_start(questions[0], args.cold_repeats, quiet)
    print(f"machine quiet: {quiet.report()}")
    ratio = ratios(raw, results, cold)
    print_table(results, agree, unavailable, cold, ratio)

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "machine": machine(),
        "versions": versions(),
        "model": str(MODEL.relative_to(ROOT)) if MODEL.is_relative_to(ROOT) else str(MODEL),
        "texts": about,
        "repeats": args.repeats,
        "ingest_repeats": args.ingest_repeats,
        "ingest_call_chunks": INGEST_CALL,
        "cold_repeats": args.cold_repeats,
        "results": results,
        "warm_s": warm_s,
        "raw": {kind: {n: [round(v, 2) for v in values] for n, values in per.items()} for kind, per in raw.items()},
        "agreement_vs_BertEncoder": agree,
        "unavailable": unavailable,
        "cold_start": cold,
        "bert_vs_best_st": ratio,
        "quiet": quiet.report(),
        "load_average_1_5_15": {"before": [round(x, 2) for x in load_before],
                                "after_warm_timings": [round(x, 2) for x in load_measured],
                                "after": [round(x, 2) for x in os.getloadavg()],
                                "note": "other processes on the machine (see quiet)"},
        "run_s": round(time.perf_counter() - started, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
