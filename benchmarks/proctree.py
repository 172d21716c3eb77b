"""CPU seconds of a pipeline's processes (meltano, tap, target) and of PostgreSQL, from /proc.

Linux keeps two counters per process in /proc/<pid>/stat: its own CPU time (utime+stime)
and that of its children once it has reaped them (cutime+cstime). Both are exact; what a
sampler can miss is the last moments of a child that exits between two samples. So:

- PostgreSQL needs no sampling: the postmaster reaps its backends, so the server's CPU over
  an interval is (postmaster own + reaped children + live children's own) at the end minus
  the same at the start.
- The pipeline is sampled every `interval` seconds to learn which child is which (by command
  line). When a child disappears, meltano has reaped it, and the growth of meltano's
  cutime+cstime since the previous sample is that child's whole CPU time, which replaces
  its last sample. Meltano's own time is its wait4 total (itself and every reaped child)
  minus its reaped children's total, read from its stat while it is a zombie (exited, not
  yet reaped); short-lived children never sampled land in "other".
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclasses.dataclass(frozen=True)
class Stat:
    """One /proc/<pid>/stat: parent, own CPU seconds, reaped children's CPU seconds."""

    ppid: int
    own: float
    reaped: float


def read_stat(pid: int) -> Stat | None:
    """The process's counters, or None once it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return Stat(ppid=int(fields[1]), own=(utime + stime) / TICK, reaped=(cutime + cstime) / TICK)


def all_stats() -> dict[int, Stat]:
    """Every live process's counters."""
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    return stats


def descendants(root: int, stats: dict[int, Stat]) -> set[int]:
    """Pids below `root` in the process tree."""
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tree_cpu(root: int) -> float:
    """CPU seconds of a live process, its reaped children and its live descendants."""
    stats = all_stats()
    if root not in stats:
        return 0.0
    total = stats[root].own + stats[root].reaped
    return total + sum(stats[pid].own for pid in descendants(root, stats))


def cmdline(pid: int) -> str:
    """The process's command line, or '' once it is gone."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class PipelineSampler(threading.Thread):
    """Samples a meltano process tree; `split(total)` gives CPU seconds per role."""

    def __init__(
        self, root: int, roles: dict[str, tuple[str, ...]], interval: float = 0.25
    ) -> None:
        """roles: role name -> strings its command line contains, all of them (first wins)."""
        super().__init__(daemon=True)
        self.root = root
        self.roles = roles
        self.interval = interval
        self.cpu: dict[int, float] = {}  # last known (or final) CPU seconds per child
        self.role: dict[int, str] = {}
        self.sampler_cpu = 0.0  # this thread's own cost, reported with the figures
        self._reaped = 0.0
        self._final: set[int] = set()
        self._halt = threading.Event()

    def run(self) -> None:
        """Sample until stop()."""
        while not self._halt.wait(self.interval):
            self.sample()
        self.sampler_cpu = time.thread_time()

    def sample(self) -> None:
        """One pass: new children classified, vanished ones given their final CPU time."""
        stats = all_stats()
        root = stats.get(self.root)
        if root is None:
            return
        live = descendants(self.root, stats)
        for pid in live:
            if pid not in self.role:
                line = cmdline(pid)
                roles = (r for r, marks in self.roles.items() if all(m in line for m in marks))
                self.role[pid] = next(roles, "other")
            self.cpu[pid] = stats[pid].own
        gone = [pid for pid in self.cpu if pid not in live and pid not in self._final]
        grown = root.reaped - self._reaped
        self._reaped = root.reaped
        last = sum(self.cpu[pid] for pid in gone)
        for pid in gone:
            # Reaped since the last pass: their exact totals are in meltano's cutime. Two at
            # once share the growth in proportion to their last samples.
            share = self.cpu[pid] / last if last else 1 / len(gone)
            self.cpu[pid] = max(self.cpu[pid], grown * share)
            self._final.add(pid)

    def stop(self) -> None:
        """Stop sampling, then one last pass: call while the root is a zombie (not reaped)."""
        self._halt.set()
        self.join()
        self.sample()

    def split(self, total: float) -> dict[str, float]:
        """CPU seconds per role; `total` is the root's wait4 rusage (itself + reaped children).

        Children reaped without ever being sampled are in "other"; the sampler's own cost
        (this process, not the pipeline's) is reported apart.
        """
        out: dict[str, float] = dict.fromkeys(self.roles, 0.0)
        out["other"] = 0.0
        for pid, seconds in self.cpu.items():
            out[self.role[pid]] = out.get(self.role[pid], 0.0) + seconds
        known = sum(self.cpu.values())
        out["other"] += max(0.0, self._reaped - known)
        out["meltano"] = max(0.0, total - max(self._reaped, known))
        out["sampler"] = self.sampler_cpu
        return out
