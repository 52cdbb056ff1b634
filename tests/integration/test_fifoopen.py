"""Blocking opens of FIFOs wait in the host (syscalls/fifos.py): the first end to
open (a reader or a writer) used to wait natively for the other, which the host
never ran, and the watchdog killed it. Now the open waits in the host for the other
end, a handler interrupts it (EINTR) or restarts it (SA_RESTART), and the descriptor
it gives is blocking, as natively; a shell's `cmd > fifo & cat fifo` works."""
from __future__ import annotations

from pytest_simproc import Exited, SimHost

from .conftest import run_native, same_as_native

EXPECTED = b"""\
O_RDONLY open = 1, waited about 1 s: 1, blocking: 1
read 5 'first', then 0
child: exited 0
O_WRONLY open = 1, waited about 1 s: 1, blocking: 1
child: exited 0
O_WRONLY|O_NONBLOCK open without a reader = -1 ENXIO
O_RDONLY|O_NONBLOCK open without a writer = 1
O_RDWR open without a peer = 1
O_RDONLY open, a handler runs = -1 EINTR, waited about 1 s: 1
O_RDONLY open, an SA_RESTART handler runs = 1, waited about 2 s: 1
read 6 'second', then 0
child: exited 0
"""

# each side of the FIFO first once: the writer's open waits, then the reader's
SHELL = ("mkfifo p q; (sleep 1; echo from a writer > p) & cat p; "
         "cat q & sleep 1; echo from a reader > q; wait")


def test_fifo_opens_wait_for_the_other_end_as_natively(build):
    report = same_as_native([build("fifoopen")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []


def test_a_shell_pipes_through_fifos(tmp_path):
    (tmp_path / "native").mkdir()
    (tmp_path / "host").mkdir()
    res = run_native(["/bin/sh", "-c", SHELL], cwd=tmp_path / "native")
    expected = b"from a writer\nfrom a reader\n"
    assert (res.returncode, res.stdout, res.stderr) == (0, expected, b"")
    with SimHost() as host:
        p = host.spawn(["/bin/sh", "-c", SHELL], cwd=str(tmp_path / "host"))
        host.run()
        assert (p.exit_status, p.stdout, p.stderr) == (Exited(0), expected, b"")
        assert host.now - host.start_time >= 2  # the two sleeps, in virtual time


def test_every_wait_ends_in_the_strace_log(build):
    """A call that waited and then ran natively (an open woken by its peer, a read of
    an empty FIFO woken by a write) ends with its "<... resumed>" line: the read's
    line used to stay unfinished until the process ended ("= ?")."""
    with SimHost(strace="standard") as host:
        p = host.spawn([build("fifoopen")])
        host.run()
        lines = host.strace_lines()
    assert p.exit_status == Exited(0)
    open_calls: dict[str, list] = {}
    for line in lines:
        pid, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            open_calls.setdefault(pid, []).append(rest.split("(")[0])
        elif rest.startswith("<... "):
            name = rest[5:].split(" ")[0]
            assert open_calls.get(pid) and open_calls[pid].pop() == name, line
            assert not rest.endswith("= ?"), line
    assert not any(open_calls.values()), open_calls
    assert any(line.split(None, 1)[1].startswith('<... read resumed>"first"') for line in lines)
