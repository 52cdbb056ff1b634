"""The cost of the record of simulated calls (strace logging off, pytest_simproc/strace/
record.py) per iteration of workloads (a), (c) and (f), in isolation: the calls the engine
makes on a CallRecord for one iteration (a getppid; a fork's clone, the child's start and
end, its SIGCHLD and the wait4 that reaps it; a ping-pong round trip of two kills, two
rt_sigsuspends, two signals and two rt_sigreturns, which are not recorded), against this
process's own memory, and a 4-byte read of memory by process_vm_readv for scale. Being
in one process, it is less disturbed by other load than the workloads themselves.

    .venv/bin/python benchmarks/record_cost.py
"""
import timeit, os, ctypes, struct
from pytest_simproc.strace.record import CallRecord, recorded_numbers
from pytest_simproc.trace.memory import TraceeMemory
buf = ctypes.create_string_buffer(struct.pack("<iQ", 0, 0), 64); addr = ctypes.addressof(buf)
mem = TraceeMemory(os.getpid())
r = CallRecord(recorded_numbers())
pid = [1000]
args6 = (addr, 8, 3, 4, 5, 6)
def a():
    h = r.syscall_entry(1000, 110, args6, mem, 0, sp=5)
    r.syscall_exit(h, 999, mem, 0)
def c():
    pid[0] += 1
    k = pid[0]
    h = r.syscall_entry(1000, 56, (0x1200011, 0, 0, 0x7fff0000, 0, 0), mem, 0, sp=5)
    r.process_started(k, "fork_reap")
    r.syscall_exit(h, k, mem, 0)
    r.exited(k, 0, False, False, 0)
    r.signal(1000, info_chld(k), 0)
    h = r.syscall_entry(1000, 61, (k, addr, 0, 0, 0, 0), mem, 0, sp=5)
    r.syscall_exit(h, k, mem, 0)
def info_chld(k, _s=struct.Struct("<iiiiii")):
    return _s.pack(17, 0, 1, k, 0, 0) + bytes(104)
usr = struct.pack("<iiiii", 10, 0, 0, 1000, 0) + bytes(108)
def f():
    for tid in (1000, 1001):
        h = r.syscall_entry(tid, 62, (2001 - tid, 10, 0, 0, 0, 0), mem, 0, sp=5)
        r.syscall_exit(h, 0, mem, 0)
        h = r.syscall_entry(tid, 130, (addr + 8, 8, 0, 0, 0, 0), mem, 0, sp=5)
        r.syscall_exit(h, -514, mem, 0)
        r.signal(tid, usr, 0)
        r.syscall_entry(tid, 15, args6, mem, 0, sp=5)
def harness():
    info_chld(5)
def read():
    mem.read(addr, 4)
for fn, what in ((a, "(a) per getppid"), (c, "(c) per child"), (f, "(f) per round trip"),
                 (harness, "(c)'s siginfo packing, not the record's"),
                 (read, "one 4-byte read of memory")):
    print(f"{what}: {min(timeit.repeat(fn, number=5000, repeat=7)) / 5000 * 1e6:.2f} µs")
