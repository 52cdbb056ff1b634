"""Big blocking writes and MSG_WAITALL reads on pipes and stream sockets: the results
the kernel gives natively (everything written, SIGPIPE when the reader leaves)."""
import os, signal, socket, sys, time

MB = 1 << 20


def reader_child(readfn, label, other_end, close_after=None):
    pid = os.fork()
    if pid == 0:
        os.close(other_end)
        total = 0
        while True:
            time.sleep(0.01)
            b = readfn()
            if not b:
                break
            total += len(b)
            if close_after is not None and total >= close_after:
                break
        print(label, "reader got", total if close_after is None else "enough", flush=True)
        os._exit(0)
    return pid


# 1. write(2) of 1 MiB to a pipe, writev(2) of 3 buffers
r, w = os.pipe()
pid = reader_child(lambda: os.read(r, 50000), "pipe", w)
os.close(r)
print("write returned", os.write(w, b"a" * MB), flush=True)
print("writev returned", os.writev(w, [b"b" * 300000, b"c" * 300000, b"d" * 7]), flush=True)
os.close(w)
os.waitpid(pid, 0)

# 2. send/sendall/sendmsg on a Unix stream socket; recv(MSG_WAITALL) on the other end
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    got = b.recv(700000, socket.MSG_WAITALL)
    print("recv waitall got", len(got), set(got) == {ord("e")}, flush=True)
    total = 0
    while True:
        time.sleep(0.01)
        chunk = b.recv(65536)
        if not chunk:
            break
        total += len(chunk)
    print("socket reader got", total, flush=True)
    os._exit(0)
b.close()
print("send returned", a.send(b"e" * 700000), flush=True)
print("sendmsg returned", a.sendmsg([b"f" * 400000, b"g" * 400000]), flush=True)
a.sendall(b"h" * 500000)
a.close()
os.waitpid(pid, 0)

# 3. a reader that leaves early: the big write ends with SIGPIPE, as natively; with
#    SIGPIPE ignored it returns the part written
for disposition in (signal.SIG_DFL, signal.SIG_IGN):
    r, w = os.pipe()
    pid = reader_child(lambda: os.read(r, 4096), "early", w, close_after=100000)
    os.close(r)
    writer = os.fork()
    if writer == 0:
        signal.signal(signal.SIGPIPE, disposition)
        n = os.write(w, b"x" * (4 * MB))
        print("partial write", 100000 <= n < 4 * MB, flush=True)
        try:
            os.write(w, b"y")
        except BrokenPipeError:
            print("then EPIPE", flush=True)
        os._exit(3)
    os.close(w)
    _, status = os.waitpid(writer, 0)
    os.waitpid(pid, 0)
    print("writer", "killed by", os.WTERMSIG(status) if os.WIFSIGNALED(status)
          else os.WEXITSTATUS(status), flush=True)
