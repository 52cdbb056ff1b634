"""Where a spawned program's stdin, stdout and stderr come from and go.

By default stdin is /dev/null and stdout/stderr are captured to files in the host's
data dir (renamed to ``{hostname}.{exe}.{pid}.stdout`` once the pid is known); bytes
given as stdin are fed from a file; a descriptor or file object is used as is.
"""
from __future__ import annotations

import os
import subprocess
import tempfile

from .options import _short

_STDIN_TYPES = "None, bytes, str, a file descriptor or a file"


def _check_stdin(stdin) -> "bytes | None":
    """Check spawn's stdin; return the bytes to feed it (None for an fd or a file)."""
    if stdin is None:
        return None
    if isinstance(stdin, str):
        try:
            return stdin.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(f"stdin: cannot encode {_short(stdin)} as UTF-8 "
                             f"({exc.reason})") from None
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        return bytes(stdin)
    _fd_of(stdin, "stdin", _STDIN_TYPES)
    return None


def _fd_of(value, name: str, expected: str = "None, a file descriptor or a file") -> int:
    """An open file descriptor from an int or an object with fileno()."""
    if isinstance(value, bool) or not (isinstance(value, int) or hasattr(value, "fileno")):
        raise TypeError(f"{name} must be {expected}, not {_short(value)}")
    if isinstance(value, int):
        fd = value
    else:
        try:
            fd = value.fileno()
        except (OSError, ValueError) as exc:  # io.UnsupportedOperation, a closed file
            raise ValueError(f"{name}: {_short(value)} has no file descriptor "
                             f"({exc})") from None
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"{name}: {_short(value)}.fileno() returned {_short(fd)}, "
                            f"not an int")
    if fd < 0:
        raise ValueError(f"{name}: {fd} is not a file descriptor")
    try:
        os.fstat(fd)
    except (OSError, OverflowError):
        raise ValueError(f"{name}: {fd} is not an open file descriptor") from None
    return int(fd)


def _redirect(fds, stdout, stderr):
    in_fd, out_fd, err_fd = fds
    if stdout is not None:
        out_fd = _fd_of(stdout, "stdout")
    if stderr is not None:
        merge = (isinstance(stderr, int) and not isinstance(stderr, bool)
                 and stderr == subprocess.STDOUT)
        err_fd = out_fd if merge else _fd_of(stderr, "stderr")
    return in_fd, out_fd, err_fd




def open_stdio(data_dir, exe: str, stdin, captured=("stdout", "stderr")):
    """The descriptors for a new program's 0, 1, 2, the temporary paths of its
    ``captured`` stdout and stderr (None, and descriptor -1, for one going elsewhere:
    no file is made for it), and the descriptors to close once it is spawned.
    ``data_dir``: where the files go, or a function that gives it when one is made."""
    data = _check_stdin(stdin)  # before anything is created
    if callable(data_dir) and (data is not None or captured):
        data_dir = data_dir()
    close_after, paths = [], []
    try:
        if stdin is None:
            in_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            close_after.append(in_fd)
        elif data is not None:
            fd, path = tempfile.mkstemp(prefix=f".{exe}.stdin.", dir=data_dir)
            close_after.append(fd)
            os.write(fd, data)
            os.lseek(fd, 0, os.SEEK_SET)
            in_fd = fd
        else:
            in_fd = _fd_of(stdin, "stdin")
        out_fds = []
        for kind in ("stdout", "stderr"):
            if kind not in captured:
                out_fds.append(-1)
                paths.append(None)
                continue
            fd, path = tempfile.mkstemp(prefix=f".{exe}.{kind}.", dir=data_dir)
            out_fds.append(fd)
            paths.append(path)
            close_after.append(fd)
    except BaseException:
        for fd in close_after:
            os.close(fd)
        for path in filter(None, paths):
            try:
                os.unlink(path)
            except OSError:
                pass
        raise
    return (in_fd, out_fds[0], out_fds[1]), paths, close_after
