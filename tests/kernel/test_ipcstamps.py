"""kernel/ipcstamps.py: System V objects' last operators and times in the host's terms."""
from pytest_simproc.kernel.ipcstamps import IpcStamps


def test_shown_while_the_kernels_stamp_is_the_one_noted():
    stamps = IpcStamps()
    stamps.note("msg", 7, "msg_lrpid", 31337, 1001)
    assert stamps.shown("msg", 7, "msg_lrpid", 31337) == 1001
    # stamped since by a process the host did not see: the kernel's
    assert stamps.shown("msg", 7, "msg_lrpid", 4242) == 4242
    assert stamps.shown("msg", 8, "msg_lrpid", 31337) == 31337
    stamps.forget("msg", 7)
    assert stamps.shown("msg", 7, "msg_lrpid", 31337) == 31337


def test_kinds_have_their_own_ids():
    # msgget, semget and shmget number their objects apart: a removed queue 7 does not
    # take set 7's stamps with it
    stamps = IpcStamps()
    stamps.note("sem", 7, ("sempid", 1), 31337, 1001)
    stamps.note("msg", 7, "msg_lspid", 31337, 1002)
    stamps.forget("msg", 7)
    assert stamps.shown("sem", 7, ("sempid", 1), 31337) == 1001
    assert stamps.shown("msg", 7, "msg_lspid", 31337) == 31337
