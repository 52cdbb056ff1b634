"""Talking to real processes: spawn under ptrace, the seccomp filter, the event loop.

Nothing in here knows about virtual pids or the simulated kernel; the host translates.
"""
