"""CPU time of every process a load phase involves, read from /proc: the services the bench starts (with their
children), the Kafka broker, and the PostgreSQL server.

A process's `utime + stime` (fields 14 and 15 of /proc/<pid>/stat) is its CPU so far; a service also counts
`cutime + cstime`, the children it has reaped. Over a phase, each process counts its CPU after minus before (a
process started during the phase counts all of its CPU; one that ended during it is lost, which the services' pooled
connections make rare). PostgreSQL is split three ways: the backends of the bench's database, the server's own
processes (postmaster, WAL writer, checkpointer, autovacuum: work the bench's writes cause, shared with anyone
else's), and backends of other databases, which are other users of a shared server and stay out of the total.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")
KAFKA = "kafka broker"
PG_BENCH = "postgres (bench database)"
PG_SERVER = "postgres (server)"
PG_OTHERS = "postgres (other databases)"
NOT_IN_TOTAL = frozenset({PG_OTHERS})
# A client backend's title: "postgres: <user> <database> <host>(<port>) <state>" (or [local] on a socket).
CLIENT_BACKEND = re.compile(r"^postgres: \S+ (?P<database>\S+) (\S+\(\d+\)|\[local\])")


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    started: int  # field 22, clock ticks after boot: tells a reused pid apart
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
    return Stat(
        pid, int(rest[1]), int(rest[19]), (utime + stime) / TICK, (cutime + cstime) / TICK, cmdline.strip()
    )


def every_process() -> Iterator[Stat]:
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            yield stat


@dataclass(frozen=True)
class Watch:
    """What to account for: service name -> root pid, and the name of the bench's database."""

    services: Mapping[str, int]
    database: str | None = None


def service_of(stat: Stat, roots: Mapping[int, str], by_pid: Mapping[int, Stat]) -> str | None:
    pid: int | None = stat.pid
    while pid is not None and pid > 1:
        if pid in roots:
            return roots[pid]
        parent = by_pid.get(pid)
        pid = parent.ppid if parent else None
    return None


def postgres_group(cmdline: str, database: str | None) -> str | None:
    if not (cmdline.startswith("postgres:") or cmdline.split(" ", 1)[0].endswith("/bin/postgres")):
        return None
    if database is not None and f" {database} " in f" {cmdline} ":
        return PG_BENCH
    return PG_OTHERS if CLIENT_BACKEND.match(cmdline) else PG_SERVER


Snapshot = dict[tuple[int, int], tuple[str, float]]  # (pid, start time) -> (group, CPU seconds so far)


def snapshot(watch: Watch) -> Snapshot:
    stats = list(every_process())
    by_pid = {s.pid: s for s in stats}
    roots = {pid: name for name, pid in watch.services.items()}
    taken: Snapshot = {}
    for s in stats:
        if (service := service_of(s, roots, by_pid)) is not None:
            taken[s.pid, s.started] = (service, s.own_s + s.reaped_s)
        elif "kafka.Kafka" in s.cmdline:
            taken[s.pid, s.started] = (KAFKA, s.own_s)
        elif (group := postgres_group(s.cmdline, watch.database)) is not None:
            taken[s.pid, s.started] = (group, s.own_s)
    return taken


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
        return sum(s for group, s in self.per_group_s.items() if group not in NOT_IN_TOTAL)

    def per_request_line(self, accepted: int, client_s: float | None = None) -> str:
        """ms of CPU per accepted request: each process group, their total, and for context the load generator,
        other users of the database server, and the whole machine (which counts whatever else runs on it)."""

        def ms(seconds: float) -> str:
            return f"{1000 * seconds / accepted:.2f}" if accepted else "n/a"

        counted = sorted((g, s) for g, s in self.per_group_s.items() if g not in NOT_IN_TOTAL)
        context = [f"load generator {ms(client_s)}"] if client_s is not None else []
        context += [f"{g} {ms(s)}" for g, s in sorted(self.per_group_s.items()) if g in NOT_IN_TOTAL]
        context.append(f"whole machine {ms(self.machine_s)}")
        return (
            "   CPU ms per accepted request: "
            + "   ".join(f"{g} {ms(s)}" for g, s in counted)
            + f"   = total {ms(self.total_s)}   ({'; '.join(context)})"
        )


class CpuMeter:
    """`start()` before a load phase, `stop()` after: the CPU each group spent in between."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self._before: Snapshot = {}
        self._machine = 0.0

    def start(self) -> None:
        self._before, self._machine = snapshot(self.watch), machine_busy_s()

    def stop(self) -> CpuUsage:
        after, machine = snapshot(self.watch), machine_busy_s()
        groups: dict[str, float] = defaultdict(float)
        for key, (group, seconds) in after.items():
            groups[group] += seconds - self._before.get(key, (group, 0.0))[1]
        for group in (KAFKA, PG_BENCH, PG_SERVER, *self.watch.services):
            groups.setdefault(group, 0.0)
        return CpuUsage(dict(groups), machine - self._machine)
