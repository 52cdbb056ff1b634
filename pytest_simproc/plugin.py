"""The pytest plugin: the ``simhost`` fixture, the ``simproc`` marker and drop-in mode
(``pytest --simproc``, see :mod:`pytest_simproc.dropin`).

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
    group.addoption("--simproc", action="store_true", default=None,
                    help="drop-in mode: every subprocess.Popen/run/call/check_output of "
                         "the tests (and os.kill/os.waitpid on their pids, time.sleep, "
                         "time.time, datetime.now) goes through one simulated host per "
                         "test, in virtual time")
    group.addoption("--simproc-seed", type=int, default=None, metavar="N",
                    help="seed of every simulated host (default: 0, or the marker's)")
    group.addoption("--simproc-keep", action="store_true", default=False,
                    help="keep the hosts' data dirs (stdout files) and print where they are")
    parser.addini("simproc_seed", "default seed of simulated hosts", default="0")
    parser.addini("simproc", "drop-in mode, as --simproc", type="bool", default=False)


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


def _host_options(item) -> tuple[dict, object]:
    """SimHost options for ``item`` (marker, --simproc-seed, ini) and its
    expected_final_state."""
    options = marker_options(item)
    expected = options.pop("expected_final_state", None)
    seed = item.config.getoption("simproc_seed")
    if seed is None and "seed" not in options:
        seed = int(item.config.getini("simproc_seed"))
    if seed is not None:
        options["seed"] = seed
    options.setdefault("hostname", "simhost")
    return options, expected


def _expected_state_failures(host, expected) -> list[str]:
    """Run the host to its end if anything is expected, and compare final states."""
    if host._closed:
        return []
    failures = []
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
    return failures


# ------------------------------------------------------------------ drop-in mode
_DROPIN = pytest.StashKey()


def dropin_enabled(config) -> bool:
    option = config.getoption("simproc", None)
    return bool(config.getini("simproc")) if option is None else bool(option)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Drop-in mode starts before the test's fixtures are set up (they may spawn too).
    Tests that ask for the ``simhost`` fixture already have a host and are left alone."""
    if not dropin_enabled(item.config) or "simhost" in getattr(item, "fixturenames", ()):
        return
    from .dropin import DropinSession
    options, expected = _host_options(item)
    session = DropinSession(options, keep=item.config.getoption("simproc_keep"))
    item.stash[_DROPIN] = (session, expected)
    try:
        session.start()
    except (TypeError, ValueError) as exc:
        del item.stash[_DROPIN]
        raise pytest.UsageError(f"{item.nodeid}: simproc marker: {exc}") from None


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """...and ends after the fixtures are torn down: everything is restored and the
    host closed (no native process survives), even when a teardown failed."""
    try:
        return (yield)
    finally:
        _stop_dropin(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    try:
        return (yield)
    finally:  # setup interrupted before teardown ran (Ctrl-C, exit): still restore
        _stop_dropin(item, check=False)


def _stop_dropin(item, check: bool = True) -> None:
    entry = item.stash.get(_DROPIN, None)
    if entry is None:
        return
    del item.stash[_DROPIN]
    session, expected = entry
    failures = []
    try:
        if check and session._host is not None and not session._closed:
            failures = _expected_state_failures(session._host, expected)
            tree = session._host.tree()
    finally:
        session.stop()
        if session.keep and session._host is not None:
            print(f"\nsimproc: data of host {session._host.hostname!r} kept in "
                  f"{session._host.data_dir}")
    if failures:
        pytest.fail("\n".join(failures) + "\n\n" + tree, pytrace=False)


@pytest.fixture
def simhost(request):
    """A fresh simulated host for this test (SimHost), configured by the ``simproc``
    marker. Torn down after the test: every native process is killed and reaped, and
    each process the test spawned is checked against ``expected_final_state``."""
    options, expected = _host_options(request.node)
    try:
        host = SimHost(**options)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: simproc marker: {exc}") from None
    keep = request.config.getoption("simproc_keep")
    if keep:
        host.keep_data()
    try:
        yield host
        failures = _expected_state_failures(host, expected)
        if failures:
            pytest.fail("\n".join(failures) + "\n\n" + host.tree(), pytrace=False)
    finally:
        host.close()
        if keep:
            print(f"\nsimproc: data of host {host.hostname!r} kept in {host.data_dir}")
