"""kernel/ipcstamps.py: a queue's last send and receive in the host's terms."""
from pytest_simproc.kernel.ipcstamps import IpcStamps


def test_shown_while_the_kernels_stamp_is_the_one_noted():
    stamps = IpcStamps()
    stamps.note(7, "msg_lrpid", 31337, 1001)
    assert stamps.shown(7, "msg_lrpid", 31337) == 1001
    # stamped since by a process the host did not see: the kernel's
    assert stamps.shown(7, "msg_lrpid", 4242) == 4242
    assert stamps.shown(8, "msg_lrpid", 31337) == 31337
    stamps.forget(7)
    assert stamps.shown(7, "msg_lrpid", 31337) == 31337
