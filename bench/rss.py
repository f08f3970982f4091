"""Resident memory of a service process (and any children it started), from /proc."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")
RSS_TARGET_MB = 150


def vm_rss_kib(status: str) -> int:
    """The VmRSS line of a /proc/<pid>/status text, in KiB (0 for a process without memory, e.g. a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def process_tree_rss_mb(pid: int) -> float:
    """RSS of `pid` and its descendants, MB (10^6 bytes)."""
    total_kib, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            total_kib += vm_rss_kib((PROC / str(current) / "status").read_text())
            pending += children_of(current)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total_kib * 1024 / 1e6
