"""The pytest plugin: the ``simhost`` fixture, the ``simproc`` marker and drop-in mode
(``pytest --simproc``, see :mod:`pytest_simproc.dropin`).

Loaded through the ``pytest11`` entry point; nothing to import in conftest.py.
"""
from __future__ import annotations

import difflib
import inspect

import pytest

from .snapshots import CHAOS_PARAM, chaos_seed
from .host import SimHost, validate_host_options
from .kernel.states import Exited, format_state, parse_final_state

_HOST_OPTIONS = frozenset(p for p in inspect.signature(SimHost.__init__).parameters
                          if p != "self" and not p.startswith("_"))
_MARKER_OPTIONS = _HOST_OPTIONS | {"expected_final_state", "nondeterministic"}

MARKER_HELP = ("simproc(**options): configure the test's simulated host. Options: "
               "SimHost's (" + ", ".join(sorted(_HOST_OPTIONS)) + "), "
               "expected_final_state (Exited(n), Signaled(sig), Running or their text "
               "forms), checked at the end of the test's call for every process the "
               "test spawned, and nondeterministic='why' for a test whose runs differ "
               "by design: --simproc-verify runs it once and lists it with the reason.")


def pytest_addoption(parser):
    group = parser.getgroup("simproc", "simulated process hosts (pytest-simproc)")
    group.addoption("--simproc", action="store_true", default=None,
                    help="drop-in mode: every subprocess.Popen/run/call/check_output of "
                         "the tests (and os.kill/os.waitpid on their pids, time.sleep, "
                         "time.time, datetime.now) goes through one simulated host per "
                         "test, in virtual time")
    group.addoption("--simproc-seed", type=int, default=None, metavar="N",
                    help="seed of every simulated host (default: 0, or the marker's)")
    group.addoption("--simproc-start-time", default=None, metavar="SECONDS|now",
                    help="the virtual time every simulated host starts at: seconds since "
                         "the epoch, or 'now' (the machine's time as each test starts; "
                         "runs then differ by date). Default: 946684800 "
                         "(2000-01-01T00:00:00Z), or the marker's start_time")
    group.addoption("--simproc-keep", action="store_true", default=False,
                    help="keep the hosts' data dirs (stdout files) and print where they are")
    group.addoption("--simproc-strace", choices=("off", "standard", "deterministic"),
                    default=None,
                    help="log every process's system calls, strace -f style (default: off, "
                         "or the ini option simproc_strace)")
    group.addoption("--simproc-update-snapshots", action="store_true", default=False,
                    help="write the strace snapshots of strace_snapshot() instead of "
                         "comparing with them")
    group.addoption("--simproc-chaos", type=int, default=0, metavar="N",
                    help="run every test that uses simhost under N chaos schedules "
                         "(seeds 0..N-1, or from --simproc-seed on); a failure's report "
                         "names its seed, the command that reruns it and the decision "
                         "that decides it")
    group.addoption("--simproc-inject", action="append", default=[], metavar="SPEC",
                    help="inject faults in every simulated host of the run, strace -e "
                         "inject= syntax (SET:error=ERRNO|retval=N|signal=SIG|delay_enter=T"
                         "|delay_exit=T[:when=..][:probability=P][:pid=N]); repeatable")
    group.addoption("--simproc-verify", action="store_true", default=False,
                    help="run every simproc test twice with its seed and fail it when its "
                         "programs' output, final states or deterministic strace differ")
    parser.addini("simproc_strace", "strace logging of simulated hosts: off, standard or "
                  "deterministic", default="off")
    parser.addini("simproc_seed", "default seed of simulated hosts", default="0")
    parser.addini("simproc_start_time", "the virtual time simulated hosts start at: "
                  "seconds since the epoch, or now, as --simproc-start-time", default="")
    parser.addini("simproc", "drop-in mode, as --simproc", type="bool", default=False)


def pytest_addhooks(pluginmanager):
    from . import hookspecs
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER_HELP)
    if dropin_enabled(config):
        from .dropin.clock import _Dormant
        from .dropin.patches import Patches
        from .dropin.threadwait import note_plugins
        # installed at the first test, kept until unconfigure (patches.py, clock.py)
        Patches.persist = _Dormant.persist = True
        note_plugins(config.pluginmanager)
    config.pluginmanager.register(_Session(), "simproc-session")
    mode = config.getoption("simproc_strace") or config.getini("simproc_strace")
    if mode not in ("off", "standard", "deterministic"):
        raise pytest.UsageError(f"ini option simproc_strace = {mode!r}: expected off, "
                                f"standard or deterministic")
    chaos = config.getoption("simproc_chaos")
    if chaos < 0:
        raise pytest.UsageError(f"--simproc-chaos={chaos}: expected a number of seeds >= 0")
    from .inject import InjectSpecError, parse_inject
    for spec in config.getoption("simproc_inject"):
        try:
            parse_inject(spec)
        except InjectSpecError as exc:
            raise pytest.UsageError(f"--simproc-inject: {exc}") from None


def pytest_unconfigure(config):
    if dropin_enabled(config):
        if _CARRIED:  # wider fixtures' host, after a run that stopped early
            _CARRIED.pop().stop()
        from .dropin.clock import stop_dormant
        from .dropin.patches import Patches, uninstall
        Patches.persist = False
        uninstall()
        stop_dormant()


def _chaos_seeds(config) -> range:
    """The seeds of --simproc-chaos=N: N of them from --simproc-seed (0 without it), so
    that ``--simproc-chaos=1 --simproc-seed=K`` runs the case ``[seed=K]`` alone."""
    first = config.getoption("simproc_seed") or 0
    return range(first, first + config.getoption("simproc_chaos"))


def pytest_generate_tests(metafunc):
    seeds = _chaos_seeds(metafunc.config)
    if seeds and dropin_enabled(metafunc.config) and CHAOS_PARAM not in metafunc.fixturenames:
        metafunc.fixturenames.append(CHAOS_PARAM)  # every test of drop-in mode has a host
    if seeds and CHAOS_PARAM in metafunc.fixturenames:
        metafunc.parametrize(CHAOS_PARAM, seeds, ids=[f"seed={n}" for n in seeds])


@pytest.fixture
def _simproc_chaos_seed():
    """The schedule seed under --simproc-chaos (None otherwise)."""
    return None


def make_host(config, options: dict) -> SimHost:
    """A SimHost for a test, wired to the pytest_simproc_* hooks of conftest files and
    plugins."""
    host = SimHost(**options)
    try:
        hook = config.hook
        names = [name for names in hook.pytest_simproc_syscalls() for name in (names or ())]
        if names:
            host.emulate_syscalls(names, lambda call: hook.pytest_simproc_syscall(call=call))
        if hook.pytest_simproc_process_exit.get_hookimpls():
            host.on_exit(lambda h, proc, state: hook.pytest_simproc_process_exit(
                host=h, process=proc, state=state))
    except BaseException:
        host.close()
        raise
    return host


_HOSTS = pytest.StashKey()
_REPLAY = pytest.StashKey()  # the decision prefix of a shrinking rerun (explore.py)
_PATHS = pytest.StashKey()   # the test's tmp_path, a placeholder in verify's records
_RECORDS = pytest.StashKey()  # what the test's hosts did, for --simproc-verify
# user_properties names: reports carry them to xdist's controller
_KEPT = "simproc_kept"
VERIFIED = "simproc_verified"      # the test ran twice and its records were compared
UNVERIFIED = "simproc_unverified"  # "nodeid: reason" of a test marked nondeterministic


def _register_host(item, host, expected) -> None:
    """Remember the test's host for its failure report and, with the test's
    expected_final_state, for the check at the end of its call."""
    item.stash.setdefault(_HOSTS, []).append((host, expected))


class _Session:
    """Where the kept data dirs of every test (and xdist worker) meet, for the
    terminal summary."""

    def __init__(self):
        self.kept: dict[str, None] = {}
        self.verified: dict[str, None] = {}
        self.unverified: dict[str, None] = {}

    def pytest_runtest_logreport(self, report):
        for name, value in report.user_properties:
            if name == _KEPT:
                self.kept[value] = None
            elif name == VERIFIED:
                self.verified[value] = None
            elif name == UNVERIFIED:
                self.unverified[value] = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        """Chaos cases and, under --simproc-verify, every test run through explore.py:
        it reruns them (a failing chaos case to find its deciding decision)."""
        verify = item.config.getoption("simproc_verify")
        reason = verify and not isinstance(item, _BadMarkerItem) and _nondeterministic(item)
        if reason:  # runs once, as without --simproc-verify, and is listed
            item.user_properties.append((UNVERIFIED, f"{item.nodeid}: {reason}"))
            verify = False
        if chaos_seed(item) is None and not verify:
            return None
        from .explore import run_explored
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for report in run_explored(item, nextitem, verify):
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def pytest_terminal_summary(self, terminalreporter):
        if self.kept:
            terminalreporter.section("simproc: kept data dirs")
            for line in self.kept:
                terminalreporter.line(line)
        if terminalreporter.config.getoption("simproc_verify"):
            terminalreporter.section("simproc verify")
            terminalreporter.line(f"compared (ran twice with their seed): "
                                  f"{len(self.verified)} tests; marked nondeterministic "
                                  f"(ran once, not compared): {len(self.unverified)}"
                                  + (":" if self.unverified else ""))
            for line in self.unverified:
                terminalreporter.line(f"  {line}")


def _nondeterministic(item) -> str | None:
    """The reason the test's simproc marker gives for runs that differ by design."""
    return marker_problems(item)[0].get("nondeterministic")


def _record(item, host) -> None:
    """Under --simproc-verify: what ``host``'s programs did during the test, taken
    before the host closes (how the kills of its close land is the machine's)."""
    if item.config.getoption("simproc_verify"):
        from .explore import record
        item.stash.setdefault(_RECORDS, []).extend(
            record([host], item.stash.get(_PATHS, ())))


def _keep(item, host) -> None:
    item.user_properties.append((_KEPT, f"{host.hostname}: {host.data_dir}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """expected_final_state is part of the test: once its function returned, each
    host runs to its end and a mismatch fails the call, with the tree of the
    finished processes."""
    funcargs = getattr(item, "funcargs", None) or {}
    item.stash[_PATHS] = [str(funcargs[name]) for name in ("tmp_path", "tmpdir")
                          if name in funcargs]
    result = yield
    for host, expected in item.stash.get(_HOSTS, ()):
        failures = _expected_state_failures(host, expected)
        if failures:
            pytest.fail("\n".join(failures) + "\n\nprocess tree:\n"
                        + host.tree(include_gone=True), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing simproc test gets report sections: the process tree and the strace
    tail of the processes involved."""
    report = yield
    if report.failed:
        for host, _ in item.stash.get(_HOSTS, ()):
            for title, body in failure_sections(host):
                report.sections.append((title, body))
    return report


def failure_sections(host, tail: int = 20, most: int = 5):
    yield f"simproc process tree ({host.hostname})", host.tree(include_gone=True)
    if host.strace_mode == "off":
        yield (f"simproc strace ({host.hostname})",
               "strace logging is off: run with --simproc-strace=deterministic (or "
               "standard) to see the system calls of the processes involved")
        return
    involved = [p for p in host.processes()
                if p in host.spawned() or p.exit_status not in (None, Exited(0))]
    for proc in involved[:most]:
        lines = proc.strace().lines
        yield (f"simproc strace tail of {proc.name} (last {min(tail, len(lines))} of "
               f"{len(lines)} lines)", "\n".join(lines[-tail:]))


@pytest.fixture
def strace_snapshot(request):
    """``strace_snapshot(proc, name=None)``: compare ``proc``'s deterministic strace
    with the golden file ``__snapshots__/<test file>/<test>[.<name>].strace`` beside the
    test; ``--simproc-update-snapshots`` writes it instead. The host needs
    ``strace="deterministic"`` (marker option or --simproc-strace)."""
    from .assertions import make_snapshot_fixture
    return make_snapshot_fixture(request, request.config.getoption("simproc_update_snapshots"))


def marker_problems(item) -> tuple[dict, list[str]]:
    """The marker's valid keyword arguments (expected_final_state parsed) and a line
    for each bad argument, all of them."""
    options: dict = {}
    problems: list[str] = []
    for mark in reversed(list(item.iter_markers("simproc"))):
        if mark.args:
            problems.append(f"positional arguments {mark.args!r}: the marker takes "
                            f"keyword arguments only")
        options.update(mark.kwargs)
    for name, value in list(options.items()):
        try:
            if name == "expected_final_state":
                options[name] = parse_final_state(value)
            elif name == "nondeterministic":
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"expected the reason the test's runs differ, as "
                                     f"text, not {value!r}")
            elif name in _HOST_OPTIONS:
                validate_host_options(**{name: value})
            else:
                del options[name]
                near = difflib.get_close_matches(name, sorted(_MARKER_OPTIONS), n=1)
                hint = (f"did you mean {near[0]!r}?" if near else
                        f"known: {', '.join(sorted(_MARKER_OPTIONS))}")
                problems.append(f"unknown argument {name!r}; {hint}")
        except (TypeError, ValueError) as exc:
            del options[name]
            problems.append(f"{name}: {exc}")
    return options, problems


def marker_options(item) -> dict:
    """The marker's keyword arguments, validated; raises pytest.UsageError naming every
    bad argument (a test whose marker is bad never gets this far: see _BadMarkerItem)."""
    options, problems = marker_problems(item)
    if problems:
        raise pytest.UsageError(_marker_message(item, problems))
    return options


def _marker_message(item, problems: list[str]) -> str:
    many = f"{len(problems)} bad arguments" if len(problems) > 1 else "a bad argument"
    return (f"{item.nodeid}: @pytest.mark.simproc has {many}:\n"
            + "\n".join(f"  {line}" for line in problems))


class _BadMarkerItem(pytest.Item):
    """Stands in for a test whose simproc marker is bad: it fails with every bad
    argument, and nothing (fixture, host) is set up for it. Same name, markers and
    keywords: -k and -m select it as they would the test."""

    def __init__(self, *, message: str, original, **kwargs):
        super().__init__(**kwargs)
        self._message = message
        self._original = original
        self.own_markers.extend(original.own_markers)
        self.keywords.update(original.keywords)

    def runtest(self):
        pytest.fail(self._message, pytrace=False)

    def reportinfo(self):
        return self._original.reportinfo()


@pytest.hookimpl(trylast=True)  # after the hooks that add markers
def pytest_collection_modifyitems(config, items):
    if config.getoption("simproc_seed") is None:
        _ini_seed(config)
    settings = _settings(config)
    plain = settings.dropin and not settings.chaos
    for i, item in enumerate(items):
        if item.get_closest_marker("simproc") is not None:
            problems = marker_problems(item)[1]
            if problems:
                items[i] = _BadMarkerItem.from_parent(
                    item.parent, name=item.name, original=item,
                    message=_marker_message(item, problems))
        elif plain:
            item.stash[_PLAIN] = True


def _ini_seed(config) -> int:
    """The ini option simproc_seed as an int; a pytest.UsageError naming it if bad."""
    text = config.getini("simproc_seed")
    try:
        return int(text)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"ini option simproc_seed = {text!r}: expected an "
                                f"integer") from None


def _start_time(config):
    """--simproc-start-time, else the ini option simproc_start_time: a number of seconds,
    "now" or None (unset); a pytest.UsageError naming the option if bad."""
    text, name = config.getoption("simproc_start_time"), "--simproc-start-time"
    if text is None:
        text, name = config.getini("simproc_start_time").strip(), "ini option simproc_start_time"
        if not text:
            return None
    value = text
    if text != "now":
        try:
            value = float(text)
        except ValueError:
            value = text   # validate_host_options names what is wrong with it
    try:
        validate_host_options(start_time=value)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{name}={text}: {exc}") from None
    return value


class _Settings:
    """The command line's and ini file's part of every test's host options, read once
    per run rather than at every drop-in test's setup."""

    def __init__(self, config):
        self.dropin = dropin_enabled(config)
        self.seed = config.getoption("simproc_seed")
        self.strace = config.getoption("simproc_strace") or config.getini("simproc_strace")
        self.verify = config.getoption("simproc_verify")
        self.inject = config.getoption("simproc_inject")
        self.keep = config.getoption("simproc_keep")
        self.chaos = bool(_chaos_seeds(config))
        self.start_time = _start_time(config)
        self._ini_seed = None
        self._plain = None
        if self.dropin:
            from .dropin import DropinSession
            self.session_class = DropinSession

    def ini_seed(self, config) -> int:
        if self._ini_seed is None:
            self._ini_seed = _ini_seed(config)
        return self._ini_seed

    def plain_options(self, item) -> dict:
        """The host options of a test with no simproc marker and no chaos seed: the
        same for all of them, worked out for the first."""
        if self._plain is None:
            self._plain = _host_options(item)[0]
        if self.start_time == "now":  # each test's own now
            return {**self._plain, "start_time": _now()}
        return self._plain


_SETTINGS = pytest.StashKey()
_PLAIN = pytest.StashKey()  # a test with no simproc marker, under --simproc without chaos


def _settings(config) -> _Settings:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        settings = config.stash[_SETTINGS] = _Settings(config)
    return settings


def _host_options(item) -> tuple[dict, object]:
    """SimHost options for ``item`` (marker, --simproc-seed, ini) and its
    expected_final_state."""
    options = marker_options(item)
    expected = options.pop("expected_final_state", None)
    compared = options.pop("nondeterministic", None) is None
    settings = _settings(item.config)
    if "start_time" not in options and settings.start_time is not None:
        options["start_time"] = settings.start_time
    if options.get("start_time") == "now":  # read once, for every host of the test
        options["start_time"] = _now()
    seed = settings.seed
    if seed is None and "seed" not in options:
        seed = settings.ini_seed(item.config)
    if seed is not None:
        options["seed"] = seed
    options.setdefault("hostname", "simhost")
    if "strace" not in options:
        options["strace"] = settings.strace
    if settings.verify and compared and options["strace"] == "off":
        options["strace"] = "deterministic"  # part of what --simproc-verify compares
    injected = settings.inject
    if injected:
        marker = options.get("inject", ())
        options["inject"] = [*([marker] if isinstance(marker, str) else marker), *injected]
    chaos = chaos_seed(item)
    if chaos is not None:
        options["seed"] = chaos
        options["chaos"] = True
        replay = item.stash.get(_REPLAY, None)
        if replay is not None:  # a shrinking rerun (see _shrink)
            options["_replay"], options["_explain"] = replay, True
    return options, expected


def _now() -> float:
    return validate_host_options(start_time="now")["start_time"]


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
    settings = _settings(item.config)
    if (not settings.dropin or "simhost" in getattr(item, "fixturenames", ())
            or isinstance(item, _BadMarkerItem)):
        if _CARRIED and _CARRIED[0]._aside:
            # the host of wider fixtures waits for the next drop-in test; one that a
            # test has taken up is that test's, whatever a pytest run nested in it
            # (pytester.runpytest in-process: libtmux's doctests) sets up
            _CARRIED[0].set_aside(active=False)
        return
    if _CARRIED and not _WIDER:  # its fixtures went outside a test's teardown (explore)
        _CARRIED.pop().stop()
    from .dropin import timelimit
    if _CARRIED:
        session = _CARRIED[0]  # wider fixtures' programs live on in it (_carry)
        session.take_up()
        item.stash[_DROPIN] = (session, None)
        _register_host(item, session._host, None)
        timelimit.arm(item, session)
        return
    if item.stash.get(_PLAIN, False):
        options, expected = settings.plain_options(item), None
    else:
        options, expected = _host_options(item)
    session = settings.session_class(options, keep=settings.keep)
    session.host_factory = lambda opts: _dropin_host(item, opts)
    item.stash[_DROPIN] = (session, expected)
    _WIDER.clear()
    timelimit.arm(item, session)  # its start is the session's work (timelimit.py)
    try:
        session.start()
    except (TypeError, ValueError) as exc:
        del item.stash[_DROPIN]
        raise pytest.UsageError(f"{item.nodeid}: simproc marker: {exc}") from None


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_timeout_set_timer(item, settings):
    """pytest-timeout's limit of a drop-in test counts the test's time, real outside
    its host and virtual inside (dropin/timelimit.py): its real timer alone let a
    test's virtual sleep run on, and counted the tracer's work as the test's."""
    result = yield
    if _settings(item.config).dropin and "simhost" not in getattr(item, "fixturenames", ()):
        from .dropin import timelimit
        timelimit.armed(item, settings)
    return result


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_timeout_cancel_timer(item):
    if _settings(item.config).dropin:
        from .dropin import timelimit
        timelimit.disarmed(item)
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """...and ends after the fixtures are torn down: everything is restored and the
    host closed (no native process survives), even when a teardown failed; unless a
    fixture wider than the test, set up during its session, lives on with programs
    of the host (_carry)."""
    try:
        return (yield)
    finally:
        _stop_dropin(item, carry=nextitem is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    try:
        return (yield)
    finally:  # setup interrupted before teardown ran (Ctrl-C, exit): still restore
        _stop_dropin(item)


# The session, set up during a drop-in session, of every fixture wider than the
# function whose finalizer has not run yet (fixturedef -> None, in setup order).
_WIDER: dict = {}
# [the drop-in session carried to the next test], or empty
_CARRIED: list = []


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Note the fixtures wider than a test set up during a drop-in session that may
    hold its programs: the suite's own, and any that started one (unittest's
    setUpClass is a fixture of pytest's: psutil's test_posix starts a python there)."""
    if fixturedef.scope == "function" or not _settings(request.config).dropin:
        return (yield)
    from .dropin.routing import _matches, active_session
    session = active_session()
    before = _live_pids(session)
    result = yield
    if session is not None and session is active_session():
        # pytest's own (tmp_path_factory...) hold no programs unless they started one
        module = getattr(fixturedef.func, "__module__", None) or ""
        if (not _matches(module, ("_pytest", "pytest_simproc"))
                or _live_pids(session) - before):
            _WIDER[fixturedef] = None
    return result


def pytest_fixture_post_finalizer(fixturedef, request):
    _WIDER.pop(fixturedef, None)


def _live_pids(session) -> set:
    if session is None or session._host is None or session._closed:
        return set()
    return {p.pid for p in session._host._engine.table.live()}


def _carry(session) -> bool:
    """Whether the test's session lives on into the next test: a fixture wider than
    the function, set up during it, is still there (execnet's session-wide group of
    gateways), and programs of its host still live (what the fixture may hold:
    natively they would go on). Closing the host would kill them under the fixture."""
    if not _WIDER or session._closed or session._host is None:
        return False
    return session._host._engine.alive > 0


def _dropin_host(item, options) -> SimHost:
    host = make_host(item.config, options)
    _register_host(item, host, item.stash[_DROPIN][1])
    return host


def _stop_dropin(item, carry: bool = False) -> None:
    entry = item.stash.get(_DROPIN, None)
    if entry is None:
        return
    del item.stash[_DROPIN]
    session = entry[0]
    # reruns (--simproc-verify, chaos) each get a host of their own, as without a fixture
    rerun = _settings(item.config).verify or chaos_seed(item) is not None
    if carry and not rerun and _carry(session):
        session.set_aside()
        _CARRIED[:] = [session]
        return
    _CARRIED.clear()
    _WIDER.clear()
    if session._host is not None:
        _record(item, session._host)
    session.stop()
    if session.keep and session._host is not None:
        _keep(item, session._host)


@pytest.fixture
def simhost(request, _simproc_chaos_seed):
    """A fresh simulated host for this test (SimHost), configured by the ``simproc``
    marker. Each process the test spawned is checked against ``expected_final_state``
    once the test function returned (the host runs to its end first); torn down after
    the test: every native process is killed and reaped."""
    options, expected = _host_options(request.node)
    try:
        host = make_host(request.config, options)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: simproc marker: {exc}") from None
    _register_host(request.node, host, expected)
    keep = request.config.getoption("simproc_keep")
    if keep:
        host.keep_data()
    try:
        yield host
    finally:
        try:
            _record(request.node, host)
        finally:
            host.close()
        if keep:
            _keep(request.node, host)
