"""The registry of integrations: every module in this package except `base` is one sender.

Adding a sender is adding a module that defines `SOURCE`. The registry is the documentation:
`flask --app bot sources` and the README's table are made from it.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.sources.base import Source

SOURCES: dict[str, Source] = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name == "base" or _info.name.startswith("_"):
        continue
    _source = importlib.import_module(f"{__name__}.{_info.name}").SOURCE
    SOURCES[_source.name] = _source


def get(name: str) -> Source | None:
    return SOURCES.get(name)
