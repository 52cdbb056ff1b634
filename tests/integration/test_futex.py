"""Futexes shared between processes (futex(2) without FUTEX_PRIVATE_FLAG): a wake in one
process reaches a waiter in another when the word lies in shared memory."""
from __future__ import annotations

import collections
import ctypes
import mmap
import os
import re
import sys
import textwrap
from types import SimpleNamespace

from pytest_simproc import Exited, SimHost
from pytest_simproc.syscalls.thread import futex_key
from pytest_simproc.trace.maps import Mapping, mapping_at, parse_mapping

from .conftest import same_as_native

PY = os.path.realpath(sys.executable)
PAGE = mmap.PAGESIZE
START = 946684800


def expected_shared_futex_output() -> bytes:
    lines = []
    for kind in ("condvar", "memfd"):
        for turn in range(0, 100, 25):   # every 25th turn of each side
            lines.append(f"{kind} parent {2 * turn}")
            lines.append(f"{kind} child {2 * turn + 1}")
        lines.append(f"{kind} done counter=200 child=0")
    return "".join(line + "\n" for line in lines).encode()


def test_shared_futex_pingpong_native(build, native):
    res = native([build("shared_futex")])
    assert (res.returncode, res.stdout) == (0, expected_shared_futex_output()), res.stderr


def run_shared_futex(prog):
    with SimHost(strace="deterministic", stop_time=60) as host:
        p = host.spawn([prog])
        host.run()
        return p.exit_status, p.stdout, host.now, host.strace_lines()


def test_shared_futex_pingpong_in_host_is_like_native_and_deterministic(build):
    prog = build("shared_futex")
    status, out, now, strace = run_shared_futex(prog)
    # a lost wake-up would leave both sides parked until alarm(20) fires
    assert (status, out) == (Exited(0), expected_shared_futex_output())
    assert now == START
    # Every process is single-threaded, so a futex call that returns 1 (a FUTEX_WAKE
    # that woke a waiter; waits return 0) woke another process: the parent (1000) its
    # condvar partner (1001) and its memfd partner (1002), and each of them the parent.
    wakes = collections.Counter(
        line.split()[0] for line in strace
        if re.search(r"(futex\(|<\.\.\. futex resumed>).*\) = 1$", line))
    assert set(wakes) == {"1000", "1001", "1002"} and min(wakes.values()) >= 50, wakes
    assert run_shared_futex(prog) == (status, out, now, strace)


MULTIPROCESSING = textwrap.dedent("""
    import multiprocessing as mp

    def child(queue, items, total):
        for i in range(20):
            items.acquire()
            with total.get_lock():
                total.value += 1
            queue.put(i)

    ctx = mp.get_context("fork")
    queue, items, total = ctx.Queue(), ctx.Semaphore(0), ctx.Value("i", 0)
    worker = ctx.Process(target=child, args=(queue, items, total))
    worker.start()
    got = []
    for i in range(20):
        items.release()
        with total.get_lock():
            total.value += 100
        got.append(queue.get())
    worker.join()
    print(got == list(range(20)), total.value, worker.exitcode)
""")


def test_multiprocessing_lock_semaphore_queue_across_processes():
    # multiprocessing's locks and semaphores are sem_open(3) semaphores in /dev/shm,
    # whose waits and wakes are shared futex operations; a Value lives in a MAP_SHARED
    # file mapping
    results = set()
    for _ in range(2):
        with SimHost(stop_time=60) as host:
            p = host.spawn([PY, "-c", MULTIPROCESSING])
            host.run()
            results.add((p.exit_status, p.stdout, p.stderr, host.now))
    assert results == {(Exited(0), b"True 2020 0\n", b"", START)}


# ------------------------------------------------------------------------- futex_key


def parse(text: str) -> Mapping:
    return parse_mapping(text.encode())


def test_parse_mapping_reads_the_proc_maps_columns():
    anon = parse("7f5e1c000000-7f5e1c002000 rw-s 00000000 00:01 4137  /dev/zero (deleted)")
    assert anon == Mapping(0x7f5e1c000000, 0x7f5e1c002000, True, 0, os.makedev(0, 1), 4137)
    file = parse("55d0c8a00000-55d0c8a01000 r--p 00002000 fe:00 260131  /usr/bin/my prog")
    assert file == Mapping(0x55d0c8a00000, 0x55d0c8a01000, False, 0x2000,
                           os.makedev(0xfe, 0), 260131, False)
    heap = parse("55d0c9000000-55d0c9021000 rw-p 00000000 00:00 0 ")
    assert (heap.shared, heap.inode) == (False, 0)


def address_of(buffer: mmap.mmap) -> int:
    anchor = ctypes.c_char.from_buffer(buffer)
    try:
        return ctypes.addressof(anchor)
    finally:
        del anchor


def task_of(native: int, virtual_pid: int):
    return SimpleNamespace(native=native, tgid_native=native,
                           proc=SimpleNamespace(pid=virtual_pid))


def test_futex_key_of_a_shared_file_is_its_offset_whatever_the_address(tmp_path):
    path = tmp_path / "words"
    path.write_bytes(bytes(2 * PAGE))
    me = task_of(os.getpid(), 1000)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 2 * PAGE) as whole, \
            mmap.mmap(f.fileno(), PAGE, offset=PAGE) as second_page:
        word_in_whole, word_in_second = address_of(whole) + PAGE + 8, address_of(second_page) + 8
        assert word_in_whole != word_in_second
        key = futex_key(me, word_in_whole, private=False)
        assert key == futex_key(me, word_in_second, private=False)
        assert key == ("shared", os.stat(path).st_dev, os.stat(path).st_ino, PAGE + 8)
        # FUTEX_PRIVATE_FLAG: the address in this process, whatever the mapping
        assert futex_key(me, word_in_second, private=True) == ("private", 1000, word_in_second)


def test_futex_key_of_shared_anonymous_memory_is_the_same_in_a_forked_child():
    with mmap.mmap(-1, PAGE, flags=mmap.MAP_SHARED) as shared, \
            mmap.mmap(-1, PAGE, flags=mmap.MAP_PRIVATE) as private:
        shared_word, private_word = address_of(shared) + 4, address_of(private) + 4
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # holds the inherited mappings until the parent is done
            os.close(write_end)
            os.read(read_end, 1)
            os._exit(0)
        os.close(read_end)
        try:
            parent_task, child_task = task_of(os.getpid(), 1000), task_of(child, 1001)
            parent_key = futex_key(parent_task, shared_word, private=False)
            assert parent_key[0] == "shared"
            assert mapping_at(child, shared_word).shared
            assert futex_key(child_task, shared_word, private=False) == parent_key
            # a private mapping is copied on fork: each process has its own word
            assert futex_key(parent_task, private_word, private=False) == \
                ("private", 1000, private_word)
            assert futex_key(child_task, private_word, private=False) == \
                ("private", 1001, private_word)
        finally:
            os.close(write_end)
            os.waitpid(child, 0)


def test_futex_key_of_an_unmapped_address_or_a_gone_thread_is_private():
    gone = task_of(2 ** 22 + 1, 1000)   # above the default pid_max: never a live task
    assert futex_key(gone, 0x1000, private=False) == ("private", 1000, 0x1000)
    assert futex_key(task_of(os.getpid(), 1000), 0x10, private=False) == \
        ("private", 1000, 0x10)


FUTEX_WAITV = (b"flags 1: -1 EINVAL\nno words: -1 EINVAL\n129 words: -1 EINVAL\n"
               b"clock BOOTTIME: -1 EINVAL\na word without FUTEX_32: -1 EINVAL\n"
               b"a misaligned word: -1 EINVAL\na word changed: -1 EAGAIN\n"
               b"timeout passed: -1 ETIMEDOUT\n20 ms timeout: -1 ETIMEDOUT\n"
               b"woken through word at 2: futex_waitv 2\n"
               b"woken through word at 0: futex_waitv 0\n"
               b"woken through word at 3: futex_waitv 3\n")


def test_futex_waitv(build):
    """futex_waitv ran natively: its waiting thread slept in the real kernel, where
    the host's FUTEX_WAKE never reached it (the watchdog killed it; LTP's
    futex_waitv02 and futex_waitv03). Now it waits in the host's futex queues: the
    wake of any of its words returns that word's index."""
    same_as_native([build("futex_waitv")], FUTEX_WAITV)


def test_a_shared_futex_call_reads_the_memory_map_once_a_word(build, monkeypatch):
    """get_futex_key's checks (the mapping's permissions) and the word's key (the file
    and offset mapped there) come from one look at /proc/TID/maps: a shared FUTEX_WAIT
    or FUTEX_WAKE read it twice. The ping-pong's futex calls, each on one shared word,
    read it once each."""
    from pytest_simproc.syscalls import thread
    looks = []
    real = thread.mapping_at
    monkeypatch.setattr(thread, "mapping_at",
                        lambda tid, addr: looks.append(addr) or real(tid, addr))
    status, out, _now, strace = run_shared_futex(build("shared_futex"))
    assert (status, out) == (Exited(0), expected_shared_futex_output())
    calls = [line for line in strace if re.search(r"\bfutex\(", line)]
    shared = [line for line in calls if not re.search(r"futex\(\S+, FUTEX_\w+_PRIVATE", line)]
    assert all(re.search(r"futex\(\S+, FUTEX_(WAIT|WAKE)(_BITSET)?\b", line)
               for line in shared), shared
    assert len(shared) >= 400 and len(looks) == len(shared), (len(looks), len(shared))
