"""Copies of the modules drop-in patches read the same clocks and wait the same way.

eventlet keeps the functions its green monkey-patching replaces by importing a module
again after taking it out of sys.modules (``patcher.original("time")``, ``"select"``,
``"threading"``, ...), and keeps the copy there as ``__original_module_NAME``; its
hubs sleep and poll through those copies. A C module imported again (time, select,
_thread) is a new object holding new function objects, so patches.py's walk, which
finds the real functions by identity, passes them by. The test's hub would then read
the virtual clock (``from time import monotonic`` in eventlet/hubs/hub.py, replaced
by the walk) and wait on the machine's ``sleep`` and ``poll``: its timers never come
due and the test hangs. On a machine every copy of ``time`` reads the one clock and
every ``poll`` waits on it, so a copy gets, under each name, the fake that the module
it copies holds now, where the copy's own object is the real one's twin (its type and
qualified name).
"""
from __future__ import annotations

import sys
import types


def faked(module, reals: dict, undo: list, class_fakes: dict, original=None) -> None:
    """Give ``module``, a copy of ``original`` (by default the module of its name in
    sys.modules), the fakes ``original`` holds (``reals``: id of a fake -> the real
    object it replaced) in place of its twins of the real objects, and a twin of a
    class the fakes of that class's attributes (``class_fakes``: id of the real class
    -> (name, fake) pairs: Popen's ``__init__``, which its subclasses made from the
    copy, eventlet.green.subprocess's Popen, reach); ``undo`` gets (object, name, old
    value) for each."""
    name = getattr(module, "__name__", None)
    if original is None and isinstance(name, str):
        original = sys.modules.get(name)
    if (original is None or original is module
            or not isinstance(module, types.ModuleType)
            or not isinstance(original, types.ModuleType)):
        return
    current, attrs = original.__dict__, module.__dict__
    for attr, value in list(attrs.items()):
        fake = current.get(attr)
        real = reals.get(id(fake))
        if real is None or value is fake or value is real:
            continue  # not faked there, or the walk by identity's business
        if (type(value) is type(real)
                and getattr(value, "__qualname__", None) == getattr(real, "__qualname__", 0)):
            attrs[attr] = fake
            undo.append((module, attr, value))
            for method, class_fake in class_fakes.get(id(real), ()):
                if method in vars(value):
                    undo.append((value, method, vars(value)[method]))
                    setattr(value, method, class_fake)


class _Loader:
    """The loader of a copy: the real loader's module, then the fakes (``faked``)."""

    def __init__(self, real, original, finder):
        self.real, self.original, self.finder = real, original, finder

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        self.real.exec_module(module)
        finder = self.finder
        faked(module, finder.reals, finder.undo, finder.class_fakes, self.original)


class _CopyFinder:
    """First on sys.meta_path while the fakes are installed: a module that holds fakes,
    imported again while it is out of sys.modules (eventlet does it in a test that
    imports eventlet, after patches.py's walk), is made a copy with the fakes."""

    def __init__(self, originals: dict, reals: dict, undo: list, class_fakes: dict):
        self.originals, self.reals, self.undo = originals, reals, undo
        self.class_fakes = class_fakes

    def find_spec(self, fullname, path=None, target=None):
        original = self.originals.get(fullname)
        if original is None or sys.modules.get(fullname) is not None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, original, self)
                return spec
        return None


_finder: _CopyFinder | None = None


def install(originals, reals: dict, undo: list, class_fakes: dict) -> None:
    """Copies made from now on get the fakes of ``originals`` (their modules), the
    walk's undo list the names replaced (``faked``)."""
    global _finder
    uninstall()
    _finder = _CopyFinder({m.__name__: m for m in originals}, reals, undo, class_fakes)
    sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    global _finder
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _finder = None
