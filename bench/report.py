"""Figures → the markdown table and the JSON `make bench` writes."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values; NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """mean / p50 / p99 / max in milliseconds of a list of seconds."""
    if not values:
        return {"n": 0, "mean": math.nan, "p50": math.nan, "p99": math.nan, "max": math.nan}
    return {
        "n": len(values), "mean": 1e3 * sum(values) / len(values), "p50": 1e3 * pct(values, 50),
        "p99": 1e3 * pct(values, 99), "max": 1e3 * max(values),
    }


def fmt(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    """rows: {"what", "goal", "value", "beside", "met"} → markdown."""
    out = ["| | goal | Sticky | bare PTB / note | met |", "|---|---|---|---|---|"]
    for r in rows:
        met = r.get("met")
        mark = "" if met is None else ("yes" if met else "**no**")
        out.append(f"| {r['what']} | {r.get('goal', '')} | {r.get('value', '')} | {r.get('beside', '')} | {mark} |")
    return "\n".join(out)
