"""Which float the batched encoder computes in: bfloat16 where the CPU multiplies it natively.

On this project's 2-core EPYC (`avx512_bf16`), bf16 autocast embedded chunks 1.56x faster than
float32 on idle cores (bench/encoders.py, bench/results/encoders.json); the encoder runs its
whole forward pass in bf16 instead (index/vectors/torch_bert.py: faster than autocast on busy
cores), vectors at cosine >= 0.99994 to the float32 ones, and ClapNQ retrieval and answers
moved by less than issue 28's bounds (bench/results/precision-clapnq.json). Questions are
embedded on numpy in float32 until a process loads the batched encoder, then on it
(index/vectors/embedder.py's `_embed_few`; bench/results/question-precision.json). Without
those instructions bf16 is emulated and slower, so `auto` stays in float32 there.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

Precision = Literal["bf16", "float32"]
PRECISION_SETTINGS = ("auto", "bf16", "float32")
# AVX512-BF16 (dot products of bf16 pairs) or AMX (tile multiplies of bf16): oneDNN runs
# torch's bf16 matrix products on either natively.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def resolve_precision(setting: str, flags: Iterable[str]) -> Precision:
    """The precision a setting means on a CPU with these /proc/cpuinfo flags."""
    if setting not in PRECISION_SETTINGS:
        raise ValueError(f"embedding precision must be one of {', '.join(PRECISION_SETTINGS)}, not {setting!r}")
    if setting == "auto":
        return "bf16" if NATIVE_BF16_FLAGS & set(flags) else "float32"
    return setting


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first processor's flags; none where /proc/cpuinfo is missing (not Linux)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return frozenset()
    return next((frozenset(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), frozenset())
