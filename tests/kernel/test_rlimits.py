"""Resource-limit numbers, defaults, parsing and setrlimit checks."""

import errno

import pytest

from pytest_simproc.kernel import (
    DEFAULT_RLIMITS,
    RLIM_INFINITY,
    KernelError,
    check_setrlimit,
    normalize_rlimits,
    parse_rlimit_spec,
    resource_name,
    resource_number,
)
from pytest_simproc.kernel import rlimits as rl


def test_constants():
    assert (rl.RLIMIT_CPU, rl.RLIMIT_NPROC, rl.RLIMIT_NOFILE, rl.RLIMIT_RTTIME) == (0, 6, 7, 15)
    assert RLIM_INFINITY == 2**64 - 1


def test_defaults_cover_every_resource_and_are_consistent():
    assert sorted(DEFAULT_RLIMITS) == list(range(16))
    for soft, hard in DEFAULT_RLIMITS.values():
        assert 0 <= soft <= hard <= RLIM_INFINITY
    assert DEFAULT_RLIMITS[rl.RLIMIT_NOFILE] == (1024, 4096)
    assert DEFAULT_RLIMITS[rl.RLIMIT_STACK] == (8 << 20, RLIM_INFINITY)
    assert DEFAULT_RLIMITS[rl.RLIMIT_CORE] == (0, RLIM_INFINITY)


@pytest.mark.parametrize("name", ["NOFILE", "RLIMIT_NOFILE", "nofile", "rlimit_nofile", 7, "7"])
def test_resource_number(name):
    assert resource_number(name) == 7


@pytest.mark.parametrize("bad", ["FOO", "RLIMIT_", 16, -1, True, None])
def test_resource_number_rejects(bad):
    with pytest.raises(ValueError, match="unknown resource"):
        resource_number(bad)


def test_resource_name():
    assert resource_name(7) == "RLIMIT_NOFILE"
    assert resource_name("as") == "RLIMIT_AS"


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("NOFILE=1024:4096", (7, (1024, 4096))),
        ("nofile=256", (7, (256, 256))),
        ("CORE=unlimited", (4, (RLIM_INFINITY, RLIM_INFINITY))),
        ("RLIMIT_CORE=0:infinity", (4, (0, RLIM_INFINITY))),
        ("STACK = 8388608 : unlimited", (3, (8388608, RLIM_INFINITY))),
    ],
)
def test_parse_rlimit_spec(spec, expected):
    assert parse_rlimit_spec(spec) == expected


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("NOFILE", "RESOURCE=SOFT"),
        ("FOO=1", "FOO"),
        ("NOFILE=", "missing value"),
        ("NOFILE=abc", "'abc'"),
        ("NOFILE=-1", "'-1'"),
        ("NOFILE=10:5", "soft limit 10 exceeds hard limit 5"),
        ("NOFILE=1:2:3", "'2:3'"),
        (f"NOFILE={2**64}", "out of range"),
    ],
)
def test_parse_rlimit_spec_errors_name_the_bad_part(spec, fragment):
    with pytest.raises(ValueError) as info:
        parse_rlimit_spec(spec)
    assert fragment in str(info.value)


def test_normalize_rlimits():
    assert normalize_rlimits(None) == {}
    assert normalize_rlimits(
        {"NOFILE": (10, 20), rl.RLIMIT_CORE: "unlimited", "stack": 100, "AS": "1:2"}
    ) == {7: (10, 20), 4: (RLIM_INFINITY, RLIM_INFINITY), 3: (100, 100), 9: (1, 2)}
    assert normalize_rlimits(["NOFILE=5:6", "CPU=1"]) == {7: (5, 6), 0: (1, 1)}
    assert normalize_rlimits("NPROC=3") == {6: (3, 3)}


@pytest.mark.parametrize(
    "bad", [{"BOGUS": 1}, {"NOFILE": (3, 1)}, {"NOFILE": (1, 2, 3)}, {"NOFILE": "x"},
            {"NOFILE": 1.5}]
)
def test_normalize_rlimits_rejects(bad):
    with pytest.raises(ValueError):
        normalize_rlimits(bad)


def test_check_setrlimit():
    check_setrlimit((10, 20), (20, 20))
    check_setrlimit((10, 20), (5, 10))  # lowering the hard limit is always allowed
    check_setrlimit((10, 20), (30, 30), privileged=True)
    with pytest.raises(KernelError) as info:
        check_setrlimit((10, 20), (30, 25))
    assert info.value.errno == errno.EINVAL
    with pytest.raises(KernelError) as info:
        check_setrlimit((10, 20), (10, 21))
    assert info.value.errno == errno.EPERM
    with pytest.raises(KernelError) as info:  # EINVAL wins even when privileged
        check_setrlimit((10, 20), (30, 25), privileged=True)
    assert info.value.errno == errno.EINVAL


def test_native_rlimits_carry_nofile_and_fsize_and_no_core():
    limits = dict(rl.DEFAULT_RLIMITS)
    limits[rl.RLIMIT_FSIZE] = (100, 200)
    limits[rl.RLIMIT_CORE] = (rl.RLIM_INFINITY, rl.RLIM_INFINITY)
    assert rl.native_rlimits(limits) == {
        rl.RLIMIT_NOFILE: (1024, 4096), rl.RLIMIT_FSIZE: (100, 200), rl.RLIMIT_CORE: (0, 0)}
