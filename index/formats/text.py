"""Text of unknown encoding, decoded strictly: binary data is an error, not mojibake."""

from __future__ import annotations

import codecs
import re

from index.errors import LoadError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decode text of unknown encoding strictly; binary data is an error, not mojibake."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data, encoding)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x00" in data:
            raise LoadError("binary data, not text") from None
        text = _western(data) or _detected(data)
    if _looks_binary(text):
        raise LoadError("binary data, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _western(data: bytes) -> str | None:
    """Windows-1252/Latin-1 text, the commonest legacy encoding, which detectors misjudge
    on short texts. Accepted only where accented letters are a minority of the letters:
    text in a non-Latin script read this way would be all accents."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if c.isalpha()]
    foreign = sum(not c.isascii() for c in letters)
    return text if letters and foreign <= 0.3 * len(letters) else None


def _detected(data: bytes) -> str:
    # Imported here: ~28 ms (python -X importtime) that every process reading the index paid,
    # for the few files neither UTF-8 nor Latin text.
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise LoadError("binary data, not text")
    return str(best)


def _strict(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoadError(f"invalid {encoding} text: {exc.reason}") from exc
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return len(_CONTROL.findall(sample)) > max(8, len(sample) // 100)
