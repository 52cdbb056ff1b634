"""The NTP state of a host's clock: what adjtimex(2) and clock_adjtime(2) read and set.

Programs that keep time (ntpd, chronyd) and tests of leap seconds drive the kernel's
clock discipline through adjtimex(2). A host never lets them reach the machine's clock,
so it answers with a state of its own, kept here in the kernel's units: the status bits,
the leap-second state machine (TIME_OK, TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT), the
error estimates, the frequency, tick and TAI offset. A leap second is carried out on the
host's CLOCK_REALTIME as the kernel does it at a UTC midnight (adjtimex(2) STA_INS,
STA_DEL): the caller is told to step the clock by -1 or +1 second at that instant.

The clock's rate is the kernel's too (kernel/clock.py ClockRate): an adjtime(3) offset
is slewed at 500 us a second, an ADJ_OFFSET through the phase-locked loop (a chunk of
it each second, and the frequency it corrects), ADJ_FREQUENCY and ADJ_TICK change the
rate at once; CLOCK_MONOTONIC_RAW shows what the disciplined clocks gained. A set of
the clock (clock_settime, settimeofday, ADJ_SETOFFSET) clears what was left to slew
and marks the clock unsynchronized (ntp_clear). Not modelled: PPS (its fields read 0,
as in a kernel without CONFIG_NTP_PPS).
"""
from __future__ import annotations

import errno

from .clock import HZ, SCALE_SHIFT as NTP_SCALE_SHIFT, SHIFT_PLL, VirtualClock, c_div as _c_div
from .clock import shift_right as _shift_right
from .errors import KernelError

NSEC = 1_000_000_000
SECS_PER_DAY = 86400

# timex.h modes
ADJ_OFFSET, ADJ_FREQUENCY, ADJ_MAXERROR, ADJ_ESTERROR = 0x1, 0x2, 0x4, 0x8
ADJ_STATUS, ADJ_TIMECONST, ADJ_TAI, ADJ_SETOFFSET = 0x10, 0x20, 0x80, 0x100
ADJ_MICRO, ADJ_NANO, ADJ_TICK = 0x1000, 0x2000, 0x4000
ADJ_ADJTIME, ADJ_OFFSET_READONLY = 0x8000, 0x2000
ADJ_OFFSET_SINGLESHOT, ADJ_OFFSET_SS_READ = 0x8001, 0xa001

# status bits
STA_PLL, STA_PPSFREQ, STA_PPSTIME, STA_FLL = 0x1, 0x2, 0x4, 0x8
STA_INS, STA_DEL, STA_UNSYNC, STA_FREQHOLD = 0x10, 0x20, 0x40, 0x80
STA_PPSSIGNAL, STA_PPSJITTER, STA_PPSWANDER, STA_PPSERROR = 0x100, 0x200, 0x400, 0x800
STA_CLOCKERR, STA_NANO, STA_MODE, STA_CLK = 0x1000, 0x2000, 0x4000, 0x8000
STA_RONLY = (STA_PPSSIGNAL | STA_PPSJITTER | STA_PPSWANDER | STA_PPSERROR | STA_CLOCKERR
             | STA_NANO | STA_MODE | STA_CLK)

# clock states, adjtimex(2)'s return values
TIME_OK, TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT, TIME_ERROR = range(6)

USER_HZ = 100
MAXPHASE_NS = 500_000_000
MAXFREQ_NS = 500_000                        # 500 ppm, in ns per second
NTP_PHASE_LIMIT_US = (MAXPHASE_NS // 1000) << 5
PPM_SCALE = 1000 << (NTP_SCALE_SHIFT - 16)  # a "scaled ppm" (timex.h) as ns << 32
MAXFREQ_SCALED = MAXFREQ_NS << NTP_SCALE_SHIFT
PPM_SCALE_INV_SHIFT = 19
PPM_SCALE_INV = (1 << (PPM_SCALE_INV_SHIFT + NTP_SCALE_SHIFT)) // PPM_SCALE + 1
MAXTC = 10
MINSEC, MAXSEC, SHIFT_FLL = 256, 2048, 2   # the FLL's interval bounds (timex.h)
MAX_TAI_OFFSET = 100000
LLONG_MAX = (1 << 63) - 1
NEVER = 1 << 62


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _leap_second(second: int, insert: bool) -> int:
    """The second whose tick carries out a leap armed at ``second``'s tick: the next
    UTC midnight for an insertion (23:59:59 repeats), the next 23:59:59 for a
    deletion (it is skipped)."""
    if insert:
        return second + SECS_PER_DAY - second % SECS_PER_DAY
    return second + SECS_PER_DAY - (second + 1) % SECS_PER_DAY


class Timex:
    """struct timex's fields the kernel reads and writes (adjtimex(2))."""

    FIELDS = ("modes", "offset", "freq", "maxerror", "esterror", "status", "constant",
              "precision", "tolerance", "time_sec", "time_usec", "tick", "ppsfreq",
              "jitter", "shift", "stabil", "jitcnt", "calcnt", "errcnt", "stbcnt", "tai")
    __slots__ = FIELDS

    def __init__(self, **values):
        for name in self.FIELDS:
            setattr(self, name, values.get(name, 0))


class NtpState:
    """One host's clock discipline. Times given to it are the host's CLOCK_REALTIME in
    ns; ``advance`` must see every realtime the clock passes through by running (the
    kernel's once-a-second second_overflow), ``stepped`` every set of it."""

    def __init__(self, realtime_ns: int):
        self.status = STA_UNSYNC          # as a kernel boots: not synchronized
        self.state = TIME_OK
        self.maxerror = NTP_PHASE_LIMIT_US
        self.esterror = NTP_PHASE_LIMIT_US
        self.constant = 2
        self.freq = 0                     # scaled ns (<< 32) per second
        self.reftime = 0                  # the second of the last PLL update
        self.tick_us = 1_000_000 // USER_HZ
        self.tai = 0
        self._own_clock = None            # when used without a host's clock (tests)
        self.next_leap = NEVER            # the second (UTC) a leap happens at
        self._second = realtime_ns // NSEC  # the last whole second seen

    # ------------------------------------------------------------ time passing
    def stepped(self, realtime_ns: int, clock: VirtualClock | None = None) -> None:
        """CLOCK_REALTIME was set: seconds count on from there (a set is no tick), and,
        as the kernel clears its NTP state at a set (ntp_clear), what was left to
        slew is dropped, the clock counts as unsynchronized, and an armed leap second
        has no day any more: TIME_INS or TIME_DEL stays, but no midnight carries it
        out until the bit is cleared and set again."""
        self._second = realtime_ns // NSEC
        self.status |= STA_UNSYNC
        self.next_leap = NEVER
        self.maxerror = self.esterror = NTP_PHASE_LIMIT_US
        if clock is not None:
            rate = clock.rate
            rate.adjust_us = rate.offset = 0
            self._update_frequency(clock)
            rate.set_length(clock.now_ns, rate.tick_length_base)
            clock.rate_changed()

    def advance(self, realtime_ns: int) -> int:
        """The clock ran on to ``realtime_ns``: each whole second reached on the way is
        one tick of the state machine. Stops at a leap second and returns the step
        the clock must take there (-1: 23:59:59 again; +1: 23:59:59 skipped), counted
        as taken: the caller steps the clock by as much and calls ``advance`` again
        with the new time; 0 when no leap falls in the span."""
        target = realtime_ns // NSEC
        while self._second < target:
            ticks = self._idle_ticks(target)
            if ticks:
                self._grow_error(ticks)
                self._second += ticks
                continue
            self._second += 1
            self._grow_error(1)
            step = self._tick(self._second)
            if step:
                self._second += step
                return step
        return 0

    def _idle_ticks(self, target: int) -> int:
        """How many of the next seconds change nothing but the error estimate."""
        if self.state == TIME_OK and not self.status & (STA_INS | STA_DEL):
            return target - self._second
        if self.state == TIME_WAIT and self.status & (STA_INS | STA_DEL):
            return target - self._second
        if (self.state == TIME_INS and self.status & STA_INS
                or self.state == TIME_DEL and self.status & STA_DEL):
            return max(0, min(target, self.next_leap - 1) - self._second)
        return 0

    def _grow_error(self, seconds: int) -> None:
        # the maximum error grows by the frequency tolerance every second, and past
        # the phase limit the clock counts as unsynchronized (adjtimex(2) maxerror)
        self.maxerror += seconds * (MAXFREQ_NS // 1000)
        if self.maxerror > NTP_PHASE_LIMIT_US:
            self.maxerror = NTP_PHASE_LIMIT_US
            self.status |= STA_UNSYNC

    def _tick(self, second: int) -> int:
        """The state machine at the start of ``second``; returns the leap step."""
        state, status = self.state, self.status
        if state == TIME_OK:
            if status & (STA_INS | STA_DEL):
                self.state = TIME_INS if status & STA_INS else TIME_DEL
                self.next_leap = _leap_second(second, bool(status & STA_INS))
        elif state == TIME_INS:
            if not status & STA_INS:
                self.state, self.next_leap = TIME_OK, NEVER
            elif second == self.next_leap:
                self.state = TIME_OOP
                self.tai += 1
                return -1
        elif state == TIME_DEL:
            if not status & STA_DEL:
                self.state, self.next_leap = TIME_OK, NEVER
            elif second == self.next_leap:
                self.state, self.next_leap = TIME_WAIT, NEVER
                self.tai -= 1
                return 1
        elif state == TIME_OOP:
            self.state, self.next_leap = TIME_WAIT, NEVER
        elif state == TIME_WAIT:
            if not status & (STA_INS | STA_DEL):
                self.state = TIME_OK
        return 0

    def leap_at_ns(self) -> int | None:
        """The realtime at which the next leap step is due if nothing changes, None if
        none is armed. A leap armed in TIME_OK is scheduled from the next second on."""
        status, state = self.status, self.state
        if state == TIME_INS and status & STA_INS or state == TIME_DEL and status & STA_DEL:
            return self.next_leap * NSEC if self.next_leap != NEVER else None
        if state == TIME_OK and status & (STA_INS | STA_DEL):
            return _leap_second(self._second + 1, bool(status & STA_INS)) * NSEC
        return None

    # ------------------------------------------------------------ adjtimex
    @staticmethod
    def validate(tx: Timex, privileged: bool) -> None:
        """The checks made before anything changes (EPERM, EINVAL)."""
        modes = tx.modes
        if modes & ADJ_ADJTIME:
            # the kernel's own ADJ_OFFSET_SINGLESHOT is bit 0 alone (libc's 0x8001
            # adds ADJ_ADJTIME): adjtime's switch without it is EINVAL
            if not modes & ADJ_OFFSET:
                raise KernelError(errno.EINVAL, "ADJ_ADJTIME without ADJ_OFFSET_SINGLESHOT")
            if not modes & ADJ_OFFSET_READONLY and not privileged:
                raise KernelError(errno.EPERM, "adjtime without CAP_SYS_TIME")
        else:
            if modes and not privileged:
                raise KernelError(errno.EPERM, "adjtimex modes without CAP_SYS_TIME")
            if modes & ADJ_TICK and not (900000 // USER_HZ <= tx.tick <= 1100000 // USER_HZ):
                raise KernelError(errno.EINVAL, "tick more than 10% off")
        if modes & ADJ_SETOFFSET:
            if not privileged:
                raise KernelError(errno.EPERM, "ADJ_SETOFFSET without CAP_SYS_TIME")
            limit = NSEC if modes & ADJ_NANO else 1_000_000
            if not 0 <= tx.time_usec < limit:
                raise KernelError(errno.EINVAL, "ADJ_SETOFFSET fraction out of range")
        if modes & ADJ_FREQUENCY and not (
                _c_div(-LLONG_MAX - 1, PPM_SCALE) <= tx.freq <= LLONG_MAX // PPM_SCALE):
            raise KernelError(errno.EINVAL, "frequency would overflow")

    @staticmethod
    def setoffset_ns(tx: Timex) -> int:
        """ADJ_SETOFFSET's step of CLOCK_REALTIME, in ns."""
        frac = tx.time_usec if tx.modes & ADJ_NANO else tx.time_usec * 1000
        return tx.time_sec * NSEC + frac

    def adjtimex(self, tx: Timex, realtime_ns: int, clock: VirtualClock | None = None) -> int:
        """Apply ``tx``'s modes (already validated, ADJ_SETOFFSET already stepped) and
        fill it in as the kernel does; returns the clock state. ``clock``: the host's
        clock, whose rate the modes steer (one of its own when None, for a state used
        alone: its virtual time is then the realtime given)."""
        if clock is None:
            if self._own_clock is None:
                self._own_clock = VirtualClock(realtime_ns)
            clock = self._own_clock
            if realtime_ns > clock.now_ns:
                clock.advance_to(realtime_ns)
        rate = clock.rate
        modes = tx.modes
        if modes & ADJ_ADJTIME:
            old = rate.adjust_us
            if not modes & ADJ_OFFSET_READONLY:
                # adjtime(3): slewed from the next second on, 500 us a second
                rate.adjust_us = tx.offset
                self._update_frequency(clock)
            tx.offset = old
        else:
            if modes:
                self._apply(tx, realtime_ns, clock)
            tx.offset = _shift_right(rate.offset * HZ, NTP_SCALE_SHIFT)
            if not self.status & STA_NANO:
                tx.offset = _c_div(tx.offset, 1000)
        clock.rate_changed()
        result = self.state
        if self._error_status():
            result = TIME_ERROR
        tx.freq = _shift_right((self.freq >> PPM_SCALE_INV_SHIFT) * PPM_SCALE_INV,
                               NTP_SCALE_SHIFT)
        tx.maxerror, tx.esterror = self.maxerror, self.esterror
        tx.status, tx.constant = self.status, self.constant
        tx.precision = 1
        tx.tolerance = MAXFREQ_SCALED // PPM_SCALE
        tx.tick, tx.tai = self.tick_us, self.tai
        tx.ppsfreq = tx.jitter = tx.shift = tx.stabil = 0
        tx.jitcnt = tx.calcnt = tx.errcnt = tx.stbcnt = 0
        tx.time_sec = realtime_ns // NSEC
        frac = realtime_ns % NSEC
        tx.time_usec = frac if self.status & STA_NANO else frac // 1000
        return result

    def _update_frequency(self, clock: VirtualClock) -> None:
        """The rate the tick and the frequency give, from now on (ntp_update_frequency)."""
        second = ((self.tick_us * 1000 * USER_HZ) << NTP_SCALE_SHIFT) + self.freq
        clock.rate.set_base(clock.now_ns, second // HZ)

    def _update_offset(self, offset: int, realtime_ns: int, clock: VirtualClock) -> None:
        """ADJ_OFFSET through the phase-locked loop: the phase to slew, and the
        frequency error it shows since the last update (ntp_update_offset)."""
        if not self.status & STA_PLL:
            return
        if not self.status & STA_NANO:
            offset = _clamp(offset, -1_000_000, 1_000_000) * 1000
        offset = _clamp(offset, -MAXPHASE_NS, MAXPHASE_NS)
        real_secs = realtime_ns // NSEC
        secs = real_secs - self.reftime
        if self.status & STA_FREQHOLD:
            secs = 0
        self.reftime = real_secs
        freq_adj = self._update_offset_fll(offset, secs)
        secs = min(secs, 1 << (SHIFT_PLL + 1 + self.constant))
        freq_adj += (offset * secs) << (NTP_SCALE_SHIFT - 2 * (SHIFT_PLL + 2 + self.constant))
        self.freq = max(min(freq_adj + self.freq, MAXFREQ_SCALED), -MAXFREQ_SCALED)
        clock.rate.offset = _c_div(offset << NTP_SCALE_SHIFT, HZ)

    def _update_offset_fll(self, offset: int, secs: int) -> int:
        """The frequency-locked loop's part: only over long intervals (or STA_FLL)."""
        self.status &= ~STA_MODE
        if secs < MINSEC or not self.status & STA_FLL and secs <= MAXSEC:
            return 0
        self.status |= STA_MODE
        return _c_div(offset << (NTP_SCALE_SHIFT - SHIFT_FLL), secs)

    def _error_status(self) -> bool:
        status = self.status
        return bool(
            status & (STA_UNSYNC | STA_CLOCKERR)
            or status & (STA_PPSFREQ | STA_PPSTIME) and not status & STA_PPSSIGNAL
            or status & (STA_PPSTIME | STA_PPSJITTER) == (STA_PPSTIME | STA_PPSJITTER)
            or status & STA_PPSFREQ and status & (STA_PPSWANDER | STA_PPSERROR))

    def _apply(self, tx: Timex, realtime_ns: int, clock: VirtualClock) -> None:
        modes = tx.modes
        if modes & ADJ_STATUS:
            if self.status & STA_PLL and not tx.status & STA_PLL:
                # the PLL switched off: the state machine starts over, unsynchronized
                self.state, self.status, self.next_leap = TIME_OK, STA_UNSYNC, NEVER
            if not self.status & STA_PLL and tx.status & STA_PLL:
                self.reftime = realtime_ns // NSEC   # the PLL's interval starts now
            self.status = self.status & STA_RONLY | tx.status & ~STA_RONLY
        if modes & ADJ_NANO:
            self.status |= STA_NANO
        if modes & ADJ_MICRO:
            self.status &= ~STA_NANO
        if modes & ADJ_FREQUENCY:
            self.freq = _clamp(tx.freq * PPM_SCALE, -MAXFREQ_SCALED, MAXFREQ_SCALED)
        if modes & ADJ_MAXERROR:
            self.maxerror = _clamp(tx.maxerror, 0, NTP_PHASE_LIMIT_US)
        if modes & ADJ_ESTERROR:
            self.esterror = _clamp(tx.esterror, 0, NTP_PHASE_LIMIT_US)
        if modes & ADJ_TIMECONST:
            constant = _clamp(tx.constant, 0, MAXTC)
            if not self.status & STA_NANO:
                constant += 4
            self.constant = _clamp(constant, 0, MAXTC)
            clock.rate.shift = SHIFT_PLL + self.constant
        if modes & ADJ_TAI and 0 <= tx.constant <= MAX_TAI_OFFSET:
            self.tai = tx.constant
        if modes & ADJ_OFFSET:
            self._update_offset(tx.offset, realtime_ns, clock)
        if modes & ADJ_TICK:
            self.tick_us = tx.tick
        if modes & (ADJ_TICK | ADJ_FREQUENCY | ADJ_OFFSET):
            self._update_frequency(clock)
