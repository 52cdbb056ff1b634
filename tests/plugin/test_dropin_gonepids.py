"""Drop-in mode: an interpreter that ran drop-in tests exits cleanly."""
from __future__ import annotations

pytest_plugins = ["pytester"]


# ------------------------------------------------------------ a clean exit
EXITS = """
import os
import resource
import subprocess
import sys
import time


def test_waits_and_reads_its_usage():
    p = subprocess.Popen(["sleep", "1"])
    assert os.wait4(p.pid, 0)[1] == 0
    q = subprocess.Popen(["true"])
    q.wait()
    time.sleep(0.1)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_utime >= 0


def _one_level(value):
    # value, what a container holds, and the slots or attributes of what it holds if
    # it is an object of the package (not a module, a class or a function)
    items = [value]
    if type(value) in (list, set, frozenset, tuple):
        items += list(value)
    elif type(value) is dict:
        items += list(value.values())
    out = list(items)
    for item in items:
        if not type(item).__module__.startswith("pytest_simproc"):
            continue
        slots = getattr(type(item), "__slots__", ())
        out += [getattr(item, s, None) for s in ([slots] if isinstance(slots, str) else slots)]
        if type(getattr(item, "__dict__", None)) is dict and not isinstance(item, type):
            out += list(vars(item).values())
    return out


def test_the_machinery_keeps_no_struct_sequence():
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("pytest_simproc"):
            for attr, value in list(vars(module).items()):
                for item in _one_level(value):
                    if isinstance(item, tuple) and hasattr(type(item), "n_fields"):
                        found.append(f"{name}.{attr}: {type(item).__name__}")
    assert found == []
"""


def test_an_interpreter_under_simproc_exits_without_an_ignored_exception(pytester):
    """At exit, an instance of a C type's struct sequence that a module keeps may be
    freed after its type's dictionary was cleared; its dealloc then fails inside the
    interpreter ("Exception ignored in tp_clear of: <class 'dict'> SystemError:
    Objects/longobject.c:575", a PyLong_AsSsize_t of the missing n_fields), as
    gunicorn's suite printed at the end of every --simproc run: the wait module kept
    an empty struct_rusage, and selfusage each thread's last one. Whether the exit
    shows it depends on the order of the last collection, which the suite's imports
    decide; the second test finds what gives it the chance: a struct sequence held
    by the package, in a global, a container or a record there, once a drop-in test
    ran."""
    pytester.makepyfile(EXITS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--simproc",
                                           timeout=120)
    result.assert_outcomes(passed=2)
    assert "Exception ignored" not in result.stderr.str()
