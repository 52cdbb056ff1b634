"""The pytest plugin: the ``simhost`` fixture and the ``simproc`` marker.

Loaded through the ``pytest11`` entry point; nothing to import in conftest.py.
"""
from __future__ import annotations

import inspect

import pytest

from .host import SimHost
from .kernel.states import format_state, parse_final_state

MARKER_HELP = ("simproc(**options, expected_final_state=None): configure the test's "
               "simulated host; options are SimHost's (hostname, start_time, stop_time, "
               "seed, rlimits, shutdown_signal, shutdown_grace, watchdog_timeout); "
               "expected_final_state (Exited(n), Signaled(sig), Running or their text "
               "forms) is checked at teardown for every process the test spawned.")

_HOST_OPTIONS = frozenset(p for p in inspect.signature(SimHost.__init__).parameters
                          if p != "self")


def pytest_addoption(parser):
    group = parser.getgroup("simproc", "simulated process hosts (pytest-simproc)")
    group.addoption("--simproc-seed", type=int, default=None, metavar="N",
                    help="seed of every simulated host (default: 0, or the marker's)")
    group.addoption("--simproc-keep", action="store_true", default=False,
                    help="keep the hosts' data dirs (stdout files) and print where they are")
    parser.addini("simproc_seed", "default seed of simulated hosts", default="0")


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER_HELP)


def marker_options(item) -> dict:
    """The marker's keyword arguments, validated; raises pytest.UsageError naming the
    bad argument."""
    options: dict = {}
    for mark in reversed(list(item.iter_markers("simproc"))):
        if mark.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.simproc takes keyword "
                                    f"arguments only, got positional {mark.args!r}")
        options.update(mark.kwargs)
    for name, value in options.items():
        if name == "expected_final_state":
            try:
                options[name] = parse_final_state(value)
            except ValueError as exc:
                raise pytest.UsageError(f"{item.nodeid}: simproc marker argument "
                                        f"expected_final_state: {exc}") from None
        elif name not in _HOST_OPTIONS:
            raise pytest.UsageError(
                f"{item.nodeid}: unknown simproc marker argument {name!r}; known: "
                f"{', '.join(sorted(_HOST_OPTIONS | {'expected_final_state'}))}")
    return options


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("simproc") is not None:
            marker_options(item)


@pytest.fixture
def simhost(request):
    """A fresh simulated host for this test (SimHost), configured by the ``simproc``
    marker. Torn down after the test: every native process is killed and reaped, and
    each process the test spawned is checked against ``expected_final_state``."""
    options = marker_options(request.node)
    expected = options.pop("expected_final_state", None)
    seed = request.config.getoption("simproc_seed")
    if seed is None and "seed" not in options:
        seed = int(request.config.getini("simproc_seed"))
    if seed is not None:
        options["seed"] = seed
    options.setdefault("hostname", "simhost")
    try:
        host = SimHost(**options)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: simproc marker: {exc}") from None
    keep = request.config.getoption("simproc_keep")
    if keep:
        host.keep_data()
    try:
        yield host
        failures = []
        if not host._closed:
            if any(p.expected_final_state is not None for p in host.spawned()) or expected is not None:
                host.run()
            for proc in host.spawned():
                want = proc.expected_final_state if proc.expected_final_state is not None else expected
                if want is None:
                    continue
                got = proc.exit_status
                if got != want:
                    failures.append(
                        f"process '{proc.name}' exited with status {format_state(got)}; "
                        f"expected end state was {format_state(want)} but was "
                        f"{format_state(got)}")
        if failures:
            pytest.fail("\n".join(failures) + "\n\n" + host.tree(), pytrace=False)
    finally:
        host.close()
        if keep:
            print(f"\nsimproc: data of host {host.hostname!r} kept in {host.data_dir}")
