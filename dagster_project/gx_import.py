"""Importing Great Expectations without the modules it loads for features our suites do not use.

GX 1.24 imports ``scipy.stats`` when its expectations package loads (for its KL-divergence and
Kolmogorov-Smirnov expectations) and ``altair`` for its charts. Our suites use neither
(checks/gx_suites.py builds them from the contract's laws), yet loading the two took a large part of
GX's import in every run (figures in docs/decisions.md). So before GX is imported, a stand-in takes
each one's place: GX's import binds it, and the first read of an attribute it lacks loads the real
module, which then answers. Nothing is lost: a feature that needs one gets all of it, at that moment.

The standard library's ``importlib.util.LazyLoader`` does not do here: its module loads on any
attribute read, ``__file__`` included, and dbt's adapter runs ``inspect.stack()``, which reads the
``__file__`` of every imported module.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from importlib.machinery import ModuleSpec
from types import ModuleType

_LOCK = threading.RLock()  # the ingest imports GX on a thread of its own while a check may import it


class _StandIn(ModuleType):
    """Holds a module's place in ``sys.modules`` (and on its package) until first used."""

    def __init__(self, spec: ModuleSpec) -> None:
        super().__init__(spec.name)
        self.__spec__, self.__loader__ = spec, spec.loader  # importlib.util.find_spec returns it
        self.__file__ = spec.origin  # read by inspect.getmodule for every module: must not load

    def __getattr__(self, attr: str) -> object:  # only for attributes the stand-in lacks
        return getattr(_load(self.__name__), attr)


def _load(name: str) -> ModuleType:
    """The real module ``name``, imported in the stand-in's place (the import system then puts it
    in ``sys.modules`` and on its package)."""
    with _LOCK:
        module = sys.modules.get(name)
        if isinstance(module, _StandIn):
            del sys.modules[name]
            try:
                module = importlib.import_module(name)
            except BaseException:
                sys.modules[name] = module  # as before the attempt; the error is the caller's
                raise
        return module


def load_on_first_use(name: str) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules`` (and on its package, if it is a
    submodule), unless it is already imported. ``import name`` and ``from package import name``
    then bind the stand-in."""
    with _LOCK:
        if name in sys.modules:
            return
        spec = importlib.util.find_spec(name)  # imports its package, not the module
        if spec is None:
            raise ModuleNotFoundError(f"no module named {name!r}", name=name)
        stand_in = _StandIn(spec)
        sys.modules[name] = stand_in
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(importlib.import_module(parent), child, stand_in)


# What GX imports for features our suites do not use: its distribution expectations, its charts.
FIRST_USE = ("scipy.stats", "altair")


def import_great_expectations() -> ModuleType:
    """``great_expectations``, imported with the modules of ``FIRST_USE`` loaded on first use."""
    for name in FIRST_USE:
        load_on_first_use(name)
    import great_expectations

    return great_expectations
