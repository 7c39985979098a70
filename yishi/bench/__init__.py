"""Benchmarks that print figures beside baselines measured in the same run (``yishi bench …``).

Absolute times on a small shared machine drift from run to run; the ratios to a baseline measured a few
seconds earlier on the same machine are what to compare. docs/benchmarks.md has the latest figures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psutil


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass
class Target:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class Report:
    """Figures in order, each ``(key, value, unit)``, then ratios and targets; prints as a table or JSON."""

    title: str
    figures: list[tuple[str, float, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: float, unit: str = "") -> None:
        self.figures.append((key, value, unit))

    def target(self, name: str, ok: bool, detail: str) -> None:
        self.targets.append(Target(name, ok, detail))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {key: round(value, 3) for key, value, _ in self.figures}
        out["targets"] = [t.to_json() for t in self.targets]
        out.update(self.extra)
        return out

    def lines(self) -> list[str]:
        width = max((len(key) for key, _, _ in self.figures), default=10)
        lines = [self.title, "-" * len(self.title)]
        lines += [f"{key:<{width}}  {_fmt(value):>12} {unit}".rstrip() for key, value, unit in self.figures]
        if self.targets:
            lines += ["", "targets:"]
            lines += [f"  {verdict(t.ok)}  {t.name}: {t.detail}" for t in self.targets]
        lines += [f"note: {n}" for n in self.notes]
        return lines


def _fmt(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.3f}"


class RssSampler:
    """Peak resident memory of processes, sampled every ``interval`` seconds in a thread.

    ``pids`` are followed with their children (current at each sample) and summed per sample, unless
    ``children`` is false.
    """

    def __init__(self, pids: Iterable[int], interval: float = 0.05, *, children: bool = True) -> None:
        self.pids = list(pids)
        self.children = children
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        total = 0
        for pid in self.pids:
            try:
                proc = psutil.Process(pid)
                procs = [proc, *proc.children(recursive=True)] if self.children else [proc]
            except psutil.Error:
                continue
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        self.peak = max(self.peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def cpu_seconds(pids: Iterable[int | None]) -> float:
    """CPU time (user + system) used so far by ``pids`` and their current children (e.g. PostgreSQL backends)."""
    total = 0.0
    for pid in pids:
        if pid is None:
            continue
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
    return total


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
