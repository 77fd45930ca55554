"""Lazy re-exports for package __init__ modules: a public name loads its module on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def exports(package: str, where: dict[str, str]) -> tuple[Callable, Callable]:
    """A package's __getattr__ and __dir__ (PEP 562) for names that live in its modules:
    where maps each name to the module (relative to package) that defines it."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
