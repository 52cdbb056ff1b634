"""pytest-simproc's own hooks, for conftest.py files and plugins (pluggy hookspecs).

Example, in a conftest.py::

    def pytest_simproc_syscalls():
        # trap getcpu(2) in every host, on top of what the simulator traps
        return ["getcpu"]

    def pytest_simproc_syscall(call):
        if call.name == "getcpu":
            if call.args[0]:
                call.write(call.args[0], (0).to_bytes(4, "little"))  # always CPU 0
            return 0
        return None  # not mine: the simulator answers (or ENOSYS)

    def pytest_simproc_process_exit(host, process, state):
        print(f"{process.name} ended: {state}")
"""
import pluggy

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_simproc_syscalls():
    """Return the names of extra system calls every host must trap (a list of str).

    They reach ``pytest_simproc_syscall`` in each process, before the simulator's
    own handler (if any)."""


@hookspec(firstresult=True)
def pytest_simproc_syscall(call):
    """Answer a trapped system call: return an int (the program's return value,
    ``-errno`` for an error) or None to let the simulator answer.

    ``call`` has ``name``, ``nr``, ``args`` (six raw register values), ``pid``, ``tid``,
    ``now`` (virtual seconds), ``read(addr, size)``, ``read_string(addr)`` and
    ``write(addr, data)`` on the program's memory, and ``host``."""


@hookspec
def pytest_simproc_process_exit(host, process, state):
    """Called when a process of a host ends (becomes a zombie), with its final state
    (Exited or Signaled), at that point of the simulation."""
