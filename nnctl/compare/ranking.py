"""Ranks of optimizers across problems.

    ranks = problem_ranks({"sgd": 0.31, "adam": 0.12, "cg": None})   # {"adam": 1, "sgd": 2, "cg": 3}
    mean_ranks({"p1": ranks1, "p2": ranks2})                          # {"adam": 1.5, ...}

On each problem the optimizers are ranked by their score (lower is better unless said
otherwise): 1 for the best; equal scores share the mean of the places they take; an optimizer
without a score on that problem (diverged, skipped, not run) takes the mean of the places left
at the bottom, tied with the others without one. The mean rank is over every problem.
"""

from __future__ import annotations

import math


def _valid(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def problem_ranks(scores: dict[str, float | None], higher: bool = False) -> dict[str, float]:
    """Rank of every label on one problem (1 = best; ties and the unscored share places)."""
    scored = sorted(
        (label for label in scores if _valid(scores[label])),
        key=lambda label: -scores[label] if higher else scores[label],
    )
    ranks: dict[str, float] = {}
    i = 0
    while i < len(scored):
        j = i
        while j + 1 < len(scored) and scores[scored[j + 1]] == scores[scored[i]]:
            j += 1
        for label in scored[i : j + 1]:
            ranks[label] = (i + 1 + j + 1) / 2  # places i+1 .. j+1, shared
        i = j + 1
    rest = [label for label in scores if label not in ranks]
    for label in rest:
        ranks[label] = (len(scored) + 1 + len(scores)) / 2
    return {label: ranks[label] for label in scores}


def mean_ranks(ranks: dict[str, dict[str, float]], labels: list[str]) -> dict[str, float]:
    """Mean rank of each label over the problems (each problem ranks every label)."""
    return {label: sum(r[label] for r in ranks.values()) / len(ranks) for label in labels}
