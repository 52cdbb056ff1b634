"""assert_exited / assert_signaled / assert_reaped / assert_no_zombies: real hosts
(strace off) and stubs (strace tails), exact failure messages."""
from __future__ import annotations

import signal

import pytest

from pytest_simproc import Exited, Running, SimHost, Signaled
from pytest_simproc.assertions import (STRACE_OFF, assert_exited, assert_no_zombies,
                                       assert_reaped, assert_signaled)

pytest_plugins = ["pytester"]


def failure(func, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        func(*args, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------- real hosts
def test_exited_passes_and_fails_with_tree():
    with SimHost() as host:
        p = host.spawn(["sh", "-c", "exit 3"])
        host.run()
        assert_exited(p, 3)
        assert failure(assert_exited, p) == (
            'process \'simhost.sh.1000\' exited with status {"exited": 3}; '
            'expected {"exited": 0}\n'
            "\n"
            "process tree:\n"
            "  1 init\n"
            '      (gone) 1000 sh -c exit 3 [reaped by 1 {"exited": 3}]\n'
            "\n"
            f"{STRACE_OFF}")
        assert failure(assert_signaled, p, "SIGTERM").splitlines()[0] == (
            'process \'simhost.sh.1000\' exited with status {"exited": 3}; '
            'expected {"signaled": "SIGTERM"}')


def test_exited_zero_is_the_default():
    with SimHost() as host:
        p = host.spawn(["true"])
        host.run()
        assert_exited(p)
        assert_reaped(p, by=1)


def test_signaled_accepts_int_enum_and_names():
    with SimHost() as host:
        p = host.spawn(["sh", "-c", "kill -SEGV $$"])
        host.run()
        for sig in (signal.SIGSEGV, 11, "SIGSEGV", "segv"):
            assert_signaled(p, sig)
        assert failure(assert_exited, p).splitlines()[0] == (
            'process \'simhost.sh.1000\' exited with status {"signaled": "SIGSEGV"}; '
            'expected {"exited": 0}')
        assert failure(assert_signaled, p, signal.SIGKILL).splitlines()[0] == (
            'process \'simhost.sh.1000\' exited with status {"signaled": "SIGSEGV"}; '
            'expected {"signaled": "SIGKILL"}')
        with pytest.raises(ValueError, match="SIGNOPE"):
            assert_signaled(p, "SIGNOPE")


def test_not_ended_yet_says_the_helpers_do_not_run_the_host():
    with SimHost() as host:
        p = host.spawn(["sleep", "100"])
        host.run_for(1)
        assert failure(assert_exited, p) == (
            "process 'simhost.sleep.1000' has not ended yet (state: running); expected "
            '{"exited": 0} (the helpers do not run the host: call proc.wait() or '
            "host.run() first)\n"
            "\n"
            "process tree:\n"
            "  1 init\n"
            "  `-- 1000 sleep 100 [running]\n"
            "\n"
            f"{STRACE_OFF}")
        assert failure(assert_reaped, p).splitlines()[0] == (
            "process 'simhost.sleep.1000' has not ended yet (state: running), so it "
            "cannot have been reaped; expected it to be reaped")


def test_running_at_stop_time():
    with SimHost(stop_time=60) as host:
        p = host.spawn(["sleep", "1000"])
        host.run()
        assert p.exit_status is Running
        assert failure(assert_exited, p).splitlines()[0] == (
            "process 'simhost.sleep.1000' was still running at stop_time "
            '(status "running"); expected {"exited": 0}')


def test_zombie_marked_defunct_and_reaping():
    with SimHost() as host:
        p = host.spawn(["sh", "-c", "sleep 5 & exec sleep 100"])
        host.run_for(10)
        (z,) = host.zombies()
        tree = ("process tree:\n"
                "  1 init\n"
                "  `-- 1000 sleep 100 [running]\n"
                '      `-- 1001 sleep 5 [zombie <defunct> {"exited": 0}]\n')
        assert failure(assert_no_zombies, host) == (
            "host 'simhost' has 1 zombie process; expected none: "
            '1001 (sleep 5) {"exited": 0}, child of 1000 (simhost.sleep.1000)\n'
            "\n" + tree + "\n" + STRACE_OFF)
        assert failure(assert_reaped, z) == (
            "process 'simhost.sleep.1001' is a zombie <defunct> (exited with status "
            '{"exited": 0}), not yet reaped by its parent 1000 (simhost.sleep.1000); '
            "expected it to be reaped\n"
            "\n" + tree + "\n" + STRACE_OFF)
        assert_exited(z, 0)          # ended, even if nobody waited for it yet
        host.run()                   # sleep 100 exits; init reaps both
        assert_no_zombies(host)
        assert_reaped(z, by=1)
        assert_reaped(p)
        assert failure(assert_reaped, z, by=p) == (
            "process 'simhost.sleep.1001' was reaped by 1 (init); expected it to be "
            "reaped by 1000 (simhost.sleep.1000)\n"
            "\n"
            "process tree:\n"
            "  1 init\n"
            '      (gone) 1001 sleep 5 [reaped by 1 {"exited": 0}]\n'
            '      (gone) 1000 sleep 100 [reaped by 1 {"exited": 0}]\n'
            "\n" + STRACE_OFF)


def test_reaped_by_the_parent_that_waited():
    with SimHost() as host:
        p = host.spawn(["sh", "-c", "sh -c 'exit 4'; exit 0"])
        host.run()
        child = host.process(1001)
        assert_exited(child, 4)
        assert_reaped(child, by=p)
        assert_reaped(child, by=1000)
        assert failure(assert_reaped, child, by=1).splitlines()[0] == (
            "process 'simhost.sh.1001' was reaped by 1000 (simhost.sh.1000); expected "
            "it to be reaped by 1 (init)")


def test_arguments_are_checked():
    with SimHost() as host:
        p = host.spawn(["true"])
        host.run()
        with pytest.raises(ValueError):
            assert_exited(p, 256)
        with pytest.raises(TypeError):
            assert_exited(p, True)
        with pytest.raises(TypeError):
            assert_reaped(p, by="init")
        with pytest.raises(TypeError):
            assert_reaped(p, by=True)
        with pytest.raises(ValueError):
            assert_reaped(p, by=0)


def test_tracebacks_point_at_the_caller(pytester):
    pytester.makepyfile("""
        from pytest_simproc import SimHost
        from pytest_simproc.assertions import assert_exited

        def test_x():
            with SimHost() as host:
                p = host.spawn(["sh", "-c", "exit 3"])
                host.run()
                assert_exited(p, 0)  # the failing line
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        ">*assert_exited(p, 0)  # the failing line",
        "E*AssertionError: process 'simhost.sh.1000' exited with status "
        "{\"exited\": 3}; expected {\"exited\": 0}",
        "E*process tree:",
    ])
    assert "assertions.py" not in result.stdout.str()


# --------------------------------------------------------------------- stubs: tails
def test_tail_of_the_process_concerned(fake_host, fake_proc):
    host = fake_host(tree="1 init\n`-- 1000 server [running]")
    lines = [f"00:00:{i:02d}.000000 getpid() = 1000" for i in range(25)]
    p = fake_proc(host, 1000, ["./server"], state="reaped", exit_status=Signaled(11),
                  lines=lines)
    assert failure(assert_exited, p) == (
        'process \'simhost.server.1000\' exited with status {"signaled": "SIGSEGV"}; '
        'expected {"exited": 0}\n'
        "\n"
        "process tree:\n"
        "  1 init\n"
        "  `-- 1000 server [running]\n"
        '      (gone) 1000 ./server [reaped by 1 {"signaled": "SIGSEGV"}]\n'
        "\n"
        "strace tail of 1000 (simhost.server.1000), last 20 of 25 lines:\n"
        + "\n".join("  " + line for line in lines[5:]))


def test_short_and_empty_logs(fake_host, fake_proc):
    host = fake_host()
    p = fake_proc(host, 1000, ["a"], exit_status=Exited(1), lines=["getpid() = 1000"])
    q = fake_proc(host, 1001, ["b"], exit_status=Exited(1), lines=[])
    assert failure(assert_exited, p).endswith(
        "strace tail of 1000 (simhost.a.1000):\n  getpid() = 1000")
    assert failure(assert_exited, q).endswith(
        "strace tail of 1001 (simhost.b.1001): (no line logged)")


def test_strace_off_host(fake_host, fake_proc):
    host = fake_host(strace_mode="off")
    p = fake_proc(host, 1000, ["a"], exit_status=Exited(1), lines=[])
    assert failure(assert_exited, p).endswith("\n\n" + STRACE_OFF)


def test_zombie_failures_show_the_parents_strace(fake_host, fake_proc):
    host = fake_host(tree="1 init\n`-- 1000 sup [running]\n    |-- 1001 w [zombie <defunct>]"
                          "\n    `-- 1002 w [zombie <defunct>]")
    fake_proc(host, 1000, ["sup"], state="running", exit_status=None,
              lines=["00:00:00.000000 pause()"])
    z1 = fake_proc(host, 1001, ["w"], state="zombie", exit_status=Exited(0), ppid=1000,
                   lines=["00:00:00.000000 +++ exited with 0 +++"])
    fake_proc(host, 1002, ["w"], state="zombie", exit_status=Signaled(9), ppid=1000)
    assert failure(assert_no_zombies, host) == (
        "host 'simhost' has 2 zombie processes; expected none: "
        '1001 (w) {"exited": 0}, child of 1000 (simhost.sup.1000), '
        '1002 (w) {"signaled": "SIGKILL"}, child of 1000 (simhost.sup.1000)\n'
        "\n"
        "process tree:\n"
        "  1 init\n"
        "  `-- 1000 sup [running]\n"
        "      |-- 1001 w [zombie <defunct>]\n"
        "      `-- 1002 w [zombie <defunct>]\n"
        "\n"
        "strace tail of 1000 (simhost.sup.1000):\n"
        "  00:00:00.000000 pause()")
    message = failure(assert_reaped, z1)
    assert message.splitlines()[0] == (
        "process 'simhost.w.1001' is a zombie <defunct> (exited with status "
        '{"exited": 0}), not yet reaped by its parent 1000 (simhost.sup.1000); '
        "expected it to be reaped")
    assert message.endswith(
        "strace tail of 1001 (simhost.w.1001):\n"
        "  00:00:00.000000 +++ exited with 0 +++\n"
        "\n"
        "strace tail of 1000 (simhost.sup.1000):\n"
        "  00:00:00.000000 pause()")
