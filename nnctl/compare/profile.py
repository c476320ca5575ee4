"""Performance profiles (Dolan and More, Mathematical Programming 91, 2002).

    profile = performance_profile({"p1": {"sgd": 4000, "adam": 1000}, "p2": {...}})

cost[p][s]: what optimizer s paid on problem p to reach that problem's target (here: sample
gradients to the target training loss), None when it never reached it. The ratio
r[p][s] = cost[p][s] / min_s cost[p][s] (infinite when not reached; a problem that nobody
solved counts as unsolved by all), and the profile of s is
rho_s(tau) = |{p : r[p][s] <= tau}| / |problems|: at tau = 1 the share of problems on which s
was the fastest, for large tau the share it solves at all.
"""

from __future__ import annotations

import math


def ratios(costs: dict[str, dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
    """r[p][s]; None stands for infinity (not reached), so it can go into JSON."""
    out = {}
    for problem, row in costs.items():
        reached = [c for c in row.values() if c is not None and math.isfinite(c)]
        best = min(reached) if reached else None
        out[problem] = {
            label: None
            if c is None or best is None or not math.isfinite(c)
            else (c / best if best > 0 else (1.0 if c == 0 else math.inf))
            for label, c in row.items()
        }
    return out


def performance_profile(costs: dict[str, dict[str, float | None]]) -> dict:
    """{"ratios", "taus", "fraction": {label: [rho(tau) for tau in taus]}}. The taus are the
    points where some profile steps (every finite ratio, 1 included), ascending."""
    r = ratios(costs)
    labels = list(dict.fromkeys(label for row in costs.values() for label in row))
    taus = sorted({v for row in r.values() for v in row.values() if v is not None} | {1.0})
    n = len(costs)
    fraction = {
        label: [
            sum(1 for row in r.values() if row.get(label) is not None and row[label] <= tau) / n
            for tau in taus
        ]
        for label in labels
    }
    return {"ratios": r, "taus": taus, "fraction": fraction}
