"""Drop-in mode and a daemon whose child starts while the test runs short client
programs (libtmux's capture_pane tests, issue 13): natively each client's own start-up
(fork, exec, loading: about a millisecond) gives the daemon's child its time, so a
test looks at what the child did after a client or two. Under ``--simproc`` each
program the test spawns after the host's first pays its start-up in virtual time, as
a program the host's processes exec does (engine/core.py ``_charge_start``)."""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("args", MODES)
def test_the_daemons_child_starts_while_the_test_runs_clients(observed, args):
    # the daemon (the host's first program, started free) forks a child that execs
    # two programs before it writes its file: two start-ups the clients must cover
    seen = observed("""
        import json
        import subprocess
        import time

        def test_clients_see_the_child():
            daemon = subprocess.Popen(
                ["sh", "-c", "env STATE=up sh -c 'echo $STATE > ready' & exec sleep 30"])
            for clients in range(1, 1001):
                client = subprocess.run(["cat", "ready"], capture_output=True)
                if client.stdout == b"up\\n":
                    break
            daemon.kill()
            daemon.wait()
            print("OBSERVED", json.dumps([clients, daemon.pid, time.time()]))
            assert client.stdout == b"up\\n"
    """, args, passed=1)
    [(clients, daemon, now)] = seen
    if args:  # in the host: a few clients' start-ups, in virtual time
        assert daemon >= 1000 and 946684800 < now < 946684801
        assert clients <= 5, clients
