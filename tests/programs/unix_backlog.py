"""Blocking connects to a Unix listener whose backlog is full wait until it accepts
(unix(7)); a path relative to the working directory and an abstract name."""
import os
import socket
import sys
import tempfile
import time

os.chdir(tempfile.mkdtemp())
for address in ("listener.sock", b"\0simproc-backlog-%d" % os.getpid()):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(0)   # one pending connection fills it
    clients = []
    for i in range(3):
        pid = os.fork()
        if pid == 0:
            server.close()
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(address)
            c.sendall(b"client %d" % i)
            c.recv(1)
            os._exit(0)
        clients.append(pid)
    time.sleep(1)   # the clients wait in connect meanwhile
    names = []
    for _ in clients:
        conn, _ = server.accept()
        names.append(conn.recv(100).decode())
        conn.send(b"!")
        conn.close()
    for pid in clients:
        os.waitpid(pid, 0)
    print(type(address).__name__, sorted(names), flush=True)
    if isinstance(address, str):
        os.unlink(address)
    server.close()
sys.exit(0)
