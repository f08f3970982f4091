"""CPU time of every process a load phase involves, read from /proc: the services the bench starts (with their
children), the Kafka broker, and the PostgreSQL server (the backends of the bench's database apart from the rest).

A process's `utime + stime` (fields 14 and 15 of /proc/<pid>/stat) is its CPU so far; `cutime + cstime` adds the
children it has reaped, so the postmaster accounts for backends that exited during a phase. A group's CPU over a
phase is its sum after minus its sum before: a process that exited in between leaves its total to its parent's
`cutime` and its earlier share is taken off again with the "before" sum.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    own_s: float  # utime + stime
    reaped_s: float  # cutime + cstime: children waited for
    cmdline: str


def read_stat(pid: int) -> Stat | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
        cmdline = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    rest = raw[raw.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return Stat(pid, int(rest[1]), (utime + stime) / TICK, (cutime + cstime) / TICK, cmdline.strip())


def every_process() -> Iterator[Stat]:
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            yield stat


@dataclass(frozen=True)
class Watch:
    """What to account for: service name -> root pid, and the name of the bench's database."""

    services: Mapping[str, int]
    database: str | None = None


@dataclass
class Snapshot:
    cpu_s: dict[str, float] = field(default_factory=dict)  # group -> CPU seconds so far


def group_of(
    stat: Stat, roots: Mapping[int, str], by_pid: Mapping[int, Stat], database: str | None
) -> str | None:
    """The group a process counts in, or None when it is no part of the bench."""
    pid: int | None = stat.pid
    while pid is not None and pid > 1:  # a service and its descendants
        if pid in roots:
            return roots[pid]
        parent = by_pid.get(pid)
        pid = parent.ppid if parent else None
    if "kafka.Kafka" in stat.cmdline:
        return "kafka broker"
    if stat.cmdline.startswith("postgres:") or "/bin/postgres" in stat.cmdline.split(" ", 1)[0]:
        # A backend's title is "postgres: <user> <database> <client> <state>".
        if database is not None and f" {database} " in f" {stat.cmdline} ":
            return "postgres (bench database)"
        return "postgres (server, other databases)"
    return None


def snapshot(watch: Watch) -> Snapshot:
    stats = list(every_process())
    by_pid = {s.pid: s for s in stats}
    roots = {pid: name for name, pid in watch.services.items()}
    cpu: dict[str, float] = defaultdict(float)
    for s in stats:
        group = group_of(s, roots, by_pid, watch.database)
        if group is not None:
            cpu[group] += s.own_s + s.reaped_s
    return Snapshot(dict(cpu))


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (every core, every process), from /proc/stat."""
    fields = [int(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


@dataclass(frozen=True)
class CpuUsage:
    per_group_s: dict[str, float]
    machine_s: float

    @property
    def total_s(self) -> float:
        return sum(self.per_group_s.values())

    def per_request_line(self, accepted: int, client_s: float | None = None) -> str:
        """ms of CPU per accepted request: each process group, their total, and for context the load generator and
        the whole machine (which includes whatever else runs on it)."""

        def ms(seconds: float) -> str:
            return f"{1000 * seconds / accepted:.2f}" if accepted else "n/a"

        groups = "   ".join(f"{name} {ms(s)}" for name, s in sorted(self.per_group_s.items()))
        return (
            f"   CPU ms per accepted request: {groups}   = total {ms(self.total_s)}"
            + (f"   (load generator {ms(client_s)}; " if client_s is not None else "   (")
            + f"whole machine {ms(self.machine_s)})"
        )


class CpuMeter:
    """`start()` before a load phase, `stop()` after: the CPU each group spent in between."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self._before = Snapshot()
        self._machine = 0.0

    def start(self) -> None:
        self._before, self._machine = snapshot(self.watch), machine_busy_s()

    def stop(self) -> CpuUsage:
        after, machine = snapshot(self.watch), machine_busy_s()
        groups = set(after.cpu_s) | set(self._before.cpu_s)
        return CpuUsage(
            {g: after.cpu_s.get(g, 0.0) - self._before.cpu_s.get(g, 0.0) for g in groups},
            machine - self._machine,
        )
