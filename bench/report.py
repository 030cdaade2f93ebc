"""Turns samples into figures: per-scenario p50/p95 and throughput against the /healthz baseline."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import Result


@dataclass(frozen=True)
class Figures:
    name: str
    requests: int
    errors: int
    statuses: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None
    mean_ms: float | None
    rps: float | None


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(result: Result, name: str) -> Figures:
    samples = [s for s in result.samples if s.scenario == name]
    statuses: dict[str, int] = {}
    for s in samples:
        key = f"{s.status} unexpected" if s.unexpected else str(s.status)
        statuses[key] = statuses.get(key, 0) + 1
    # Latency only of answers that count; anything not 2xx (or 2xx without the expected text) is an error.
    ok = sorted(s.seconds * 1000 for s in samples if 200 <= s.status < 300 and not s.unexpected)
    if not ok:
        return Figures(name, len(samples), len(samples), statuses, None, None, None, None)
    mean = sum(ok) / len(ok)
    return Figures(
        name=name,
        requests=len(samples),
        errors=len(samples) - len(ok),
        statuses=statuses,
        p50_ms=percentile(ok, 50),
        p95_ms=percentile(ok, 95),
        mean_ms=mean,
        # Closed loop, so by Little's law: what the clients would get sending only this request.
        rps=result.clients * 1000 / mean,
    )


def _row(metric: str, unit: str, value: float | None, base: float | None, fig: Figures) -> dict[str, Any]:
    ratio = value / base if value is not None and base else None
    return {
        "name": f"{fig.name}_{metric}",
        "value": None if value is None else round(value, 3),
        "unit": unit,
        "baseline": None if base is None else round(base, 3),
        "ratio": None if ratio is None else round(ratio, 3),
        "scenario": fig.name,
        "requests": fig.requests,
        "errors": fig.errors,
        "statuses": fig.statuses,
    }


def rows(all_figures: list[Figures], baseline: Figures) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for fig in all_figures:
        out.append(_row("p50", "ms", fig.p50_ms, baseline.p50_ms, fig))
        out.append(_row("p95", "ms", fig.p95_ms, baseline.p95_ms, fig))
        out.append(_row("rps", "req/s", fig.rps, baseline.rps, fig))
    return out


def write(
    path: Path,
    scenario_rows: list[dict[str, Any]],
    run: dict[str, Any],
    vault: dict[str, Any],
    intake: dict[str, Any],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"scenarios": scenario_rows, "run": run, "vault": vault, "intake": intake}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary(all_figures: list[Figures], baseline: Figures) -> str:
    lines = [
        f"{'scenario':<12} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p50 ×base':>9}"
    ]
    for fig in all_figures:
        ratio = fig.p50_ms / baseline.p50_ms if fig.p50_ms is not None and baseline.p50_ms else None
        lines.append(
            f"{fig.name:<12} {fig.requests:>8} {fig.errors:>6} {_fmt(fig.rps, 0):>8} "
            f"{_fmt(fig.p50_ms, 2):>8} {_fmt(fig.p95_ms, 2):>8} {_fmt(ratio, 2):>9}"
        )
    return "\n".join(lines)
