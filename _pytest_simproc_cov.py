"""A coverage.py plugin that pytest-simproc adds to the configuration of a Python program
it runs in a simulated host while the test run measures subprocesses.

It exists because the host, not the program, decides when a program dies (SIGKILL,
stop_time, the host's end): a native SIGKILL leaves coverage no chance to save. The host
first sends FLUSH_SIGNAL; this handler saves the data and leaves a marker file the host
waits for, then the host carries out the death. Kept outside the pytest_simproc package
so that a measured program imports nothing else.
"""
import os
import signal

FLUSH_SIGNAL = signal.SIGRTMAX


def marker_path(directory: str, pid: int) -> str:
    """The file in the data file's ``directory`` that says process ``pid`` saved its
    data (the host deletes it before each request)."""
    return os.path.join(directory, f"flushed.{pid}")


def _flush(signum, frame):
    import coverage
    cov = coverage.Coverage.current()
    if cov is None:
        return
    try:
        cov.save()
    finally:
        with open(marker_path(os.path.dirname(cov.config.data_file), os.getpid()), "w"):
            pass


def coverage_init(reg, options):
    # process_startup runs from a .pth file at interpreter start: the main thread.
    signal.signal(FLUSH_SIGNAL, _flush)
