"""Numbers from what the researchers observed: fairness, overlap, latency, timelines.

Pure functions over timestamps, so they are unit-tested without any service.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def jain_index(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all equal, 1/n when one gets everything."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0 or not np.any(x):
        raise ValueError("Jain's index needs at least one positive value")
    return float(x.sum() ** 2 / (len(x) * (x**2).sum()))


def percentile(values: Iterable[float], q: float) -> float:
    return float(np.percentile(np.asarray(list(values), dtype=float), q))


def latency_figures(latencies_s: Sequence[float], bound_s: float | None = None) -> dict:
    """Count, p50, p99 and max of latencies given in seconds, in milliseconds; with ``bound_s``, how many
    exceed it.  (With few samples numpy's p99 interpolates between the largest ones: the maximum and the
    count over the bound are what a rule about every event is judged by.)"""
    if not latencies_s:
        raise ValueError("no latencies to summarise")
    figures = {"events": len(latencies_s), "p50_ms": round(percentile(latencies_s, 50) * 1000, 1),
               "p99_ms": round(percentile(latencies_s, 99) * 1000, 1), "max_ms": round(max(latencies_s) * 1000, 1)}
    if bound_s is not None:
        figures["over_bound"] = sum(x > bound_s for x in latencies_s)
        figures["bound_ms"] = bound_s * 1000
    return figures


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals [start, end) that hold at one instant."""
    edges = []
    for start, end in intervals:
        if end < start:
            raise ValueError(f"interval ends before it starts: {start} > {end}")
        edges.append((start, 1))
        edges.append((end, -1))
    edges.sort(key=lambda e: (e[0], e[1]))  # an end at t comes before a start at t
    running = peak = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


def job_intervals(jobs: Iterable[dict]) -> list[tuple[float, float]]:
    """[started_at, finished_at] of each job (as the API reports them), in epoch seconds."""
    return [(dt.datetime.fromisoformat(j["started_at"]).timestamp(), dt.datetime.fromisoformat(j["finished_at"]).timestamp()) for j in jobs]


def completions_in(times: Sequence[float], start: float, end: float) -> int:
    return sum(1 for t in times if start <= t <= end)


def contended_rates(researchers: Mapping[str, tuple[float, Sequence[float]]]) -> dict:
    """Images per second of each researcher while all of them had work waiting.

    ``researchers`` maps a name to (when their first job was queued, when each
    job finished).  Contention starts when the last of them has queued and ends
    when the first of them is done.
    """
    start = max(queued for queued, _ in researchers.values())
    end = min(max(done) for _, done in researchers.values())
    if end <= start:
        raise ValueError(f"no period in which everyone waited (start {start}, end {end})")
    counts = [completions_in(done, start, end) for _, done in researchers.values()]
    return {"period_s": round(end - start, 3), "completions": counts, "images_per_s": [round(c / (end - start), 2) for c in counts]}


def timeline_png(completions: Mapping[str, Sequence[float]], title: str, t0: float | None = None,
                 band: tuple[float, float] | None = None) -> bytes:
    """Cumulative completions per user over time, as a PNG; ``band`` (start, end) is shaded (a fault)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(min(ts) for ts in completions.values() if ts) if t0 is None else t0
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for user, times in completions.items():
        ts = sorted(t - t0 for t in times)
        ax.step(ts, range(1, len(ts) + 1), where="post", label=f"{user} ({len(ts)})")
    if band is not None:
        ax.axvspan(band[0] - t0, max(band[1], band[0] + 0.05) - t0, color="tab:red", alpha=0.2, label="fault")
    ax.set_xlabel("seconds since the first submission")
    ax.set_ylabel("images finished")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return figure_png(fig)


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
