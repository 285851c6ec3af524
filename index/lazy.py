"""Package attributes imported on first use (PEP 562's module `__getattr__`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_attributes(package: str, sources: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` giving each name of `sources` from the module it names,
    imported when the name is first asked for."""

    def __getattr__(name: str):
        if name in sources:
            return getattr(importlib.import_module(sources[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
