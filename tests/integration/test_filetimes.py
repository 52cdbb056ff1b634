"""File times are on the host's clock (kernel/filetimes.py, syscalls/filetimes.py): a file
written before a sleep is as much older than the clock's now after it, whichever stat
call asks; explicit times set with utimensat read back exactly (one in the past, one
inside the sleep, one ahead); UTIME_NOW and futimens(fd, NULL) stamp the clock's now
(tests/programs/filetimes.c). The machine stamped them with its own date: in a host
starting in 2000 a new file was 26 years ahead of the clock."""
from __future__ import annotations

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

CHECKS = [b"written now", *(b"%s after the sleep" % how for how in
                            (b"stat", b"lstat", b"fstat", b"newfstatat", b"statx")),
          b"explicit past", b"explicit in the sleep", b"explicit ahead", b"UTIME_NOW",
          b"futimens NULL"]
ALL_YES = b"".join(name + b": yes\n" for name in CHECKS)


def test_file_times_against_the_clock_as_natively(build, tmp_path):
    same_as_native([build("filetimes"), tmp_path, "1"], ALL_YES)


@pytest.mark.parametrize("start_time", [946684800, "now"])
def test_file_times_in_a_host(build, tmp_path, start_time):
    # 5 virtual seconds of sleep, which pass in no real time: the machine's stamps of
    # the file before and after them are a few microseconds apart
    with SimHost(start_time=start_time) as host:
        p = host.spawn([build("filetimes"), str(tmp_path), "5"])
        host.run()
        assert (p.exit_status, p.stdout, p.stderr) == (Exited(0), ALL_YES, b"")
        assert host.now - host.start_time >= 6
