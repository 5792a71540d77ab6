"""Hooks: how a module tells whoever listens that something happened, without knowing who.

A module declares a hook where it announces (`stock_moved = Hook("stock moved")` in
`engine/inventory/hooks.py`) and calls `announce` inside its unit of work; a bridge connects a
listener when the composition root installs it (perpetual inventory posts the stock's value
to the books). Listeners run in the announcer's transaction: a listener that fails rolls the
whole operation back. Announcers pass lists, not iterators, so every listener sees them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class Hook:
    def __init__(self, name: str):
        self.name = name
        self.listeners: list[Callable[..., Any]] = []

    def connect_lazily(self, target: str) -> Callable[[], None]:
        """Listen with the function a dotted path names, imported when first announced."""
        loaded: list[Callable[..., Any]] = []

        def listener(*args: Any, **kwargs: Any) -> None:
            if not loaded:
                module, _, name = target.partition(":")
                loaded.append(getattr(importlib.import_module(module), name))
            loaded[0](*args, **kwargs)

        listener.__qualname__ = f"lazy {target}"
        return self.connect(listener)

    def connect(self, listener: Callable[..., Any]) -> Callable[[], None]:
        """Listen; returns the function that stops listening."""
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def announce(self, *args: Any, **kwargs: Any) -> None:
        for listener in list(self.listeners):
            listener(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self.listeners)} listening)"
