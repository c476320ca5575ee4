"""Tune each optimizer with the same budget, then run its chosen setting over the seeds.

    nnctl compare-optimizers CONFIG --tune lr --budget 8 --seeds 3

The protocol of the optimizer-benchmarking papers (DeepOBS; Sivaprasad et al. 2020; Schmidt et
al. 2021): a method looks good or bad mostly through its learning rate, so each one gets the
same number of trials (`--budget`) over the same candidate values, at the config's seed, and is
judged by the same selection metric (`--select`: the best validation loss, or the final training
loss when there is no validation split). The best trial's setting then runs for every seed:
the seed the trials used reuses its trial run (same config, same bits), the others train now.

    <out>/trials/<label>_<key>=<value>/   one run folder per trial
    <out>/tuning.csv                      every trial: its values, selection value, chosen
    <out>/comparison.json                 the chosen runs, as any comparison, plus "tuning"

Candidates: one setting on a grid (log-spaced when low > 0 and high / low >= 10, else even),
several at once by random search (seeded by the config's seed; same points for everyone).
Optimizers without the setting (full-batch methods with line searches have no lr) are marked
"no tuning needed" and run the seeds as they are. A chosen value at the end of the range tried
is flagged: the range was probably wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from nnctl.errors import UsageError

DEFAULT_RANGES = {"lr": (1e-4, 1.0)}
DEFAULT_BUDGET = 8
SEARCHES = ("grid", "random")
RANDOM_STREAM = 0x7475  # mixed with the config's seed: the search's own random stream
NO_TUNING = "no tuning needed"
ALL_DIVERGED = "every trial diverged"


@dataclass(frozen=True)
class TuneAxis:
    key: str  # an optimizer setting, e.g. lr
    low: float
    high: float
    log: bool

    @property
    def text(self) -> str:
        return f"{self.key}={self.low:g}:{self.high:g}"


def parse_tune(text: str) -> TuneAxis:
    """'lr' (lr's default range), 'lr=1e-4:1', 'momentum=0.5:0.99' -> TuneAxis."""
    key, eq, rng = text.partition("=")
    key = key.strip().removeprefix("optimizer.")
    if not key:
        raise UsageError(f"--tune {text!r}: expected KEY or KEY=LOW:HIGH, e.g. --tune lr=1e-4:1")
    if not eq:
        if key not in DEFAULT_RANGES:
            raise UsageError(
                f"--tune {text}: no default range for {key}; give one, e.g. --tune {key}=0.5:0.99"
            )
        low, high = DEFAULT_RANGES[key]
    else:
        parts = rng.split(":")
        try:
            if len(parts) != 2:
                raise ValueError
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise UsageError(
                f"--tune {text}: expected {key}=LOW:HIGH with two numbers, found {rng!r}"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise UsageError(f"--tune {text}: expected LOW < HIGH, found {low:g} and {high:g}")
    return TuneAxis(key, low, high, log=low > 0 and high / low >= 10)


def _round(value: float) -> float:
    """Three significant digits: labels and configs read 0.00316, not 0.0031622776601683794."""
    return float(f"{value:.3g}")


def candidates(axes: list[TuneAxis], budget: int, search: str, seed: int) -> list[dict]:
    """The `budget` settings every tuned optimizer tries (the same for all of them)."""
    import numpy as np

    if search == "grid":
        [axis] = axes
        if axis.log:
            values = np.geomspace(axis.low, axis.high, budget)
        else:
            values = np.linspace(axis.low, axis.high, budget)
        points = [{axis.key: _round(v)} for v in values]
    else:
        rng = np.random.default_rng([seed, RANDOM_STREAM])
        points = []
        for _ in range(budget):
            point = {}
            for axis in axes:
                u = rng.random()
                if axis.log:
                    point[axis.key] = _round(
                        math.exp(math.log(axis.low) + u * math.log(axis.high / axis.low))
                    )
                else:
                    point[axis.key] = _round(axis.low + u * (axis.high - axis.low))
            points.append(point)
    if len({tuple(p.items()) for p in points}) != len(points):
        raise UsageError(
            f"--budget {budget}: more trials than distinct values (3 significant "
            f"digits) in {', '.join(a.text for a in axes)}; widen the range or "
            "lower the budget"
        )
    return points


def check_options(axes: list[TuneAxis], budget: int, search: str | None) -> str:
    """The search to use; UsageError naming the option otherwise."""
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise UsageError(f"--tune: a setting is given twice ({', '.join(keys)})")
    search = search or ("grid" if len(axes) == 1 else "random")
    if search not in SEARCHES:
        raise UsageError(f"--search: expected one of {', '.join(SEARCHES)}, found {search!r}")
    if search == "grid" and len(axes) > 1:
        raise UsageError(
            f"--search grid: tunes one setting; for {', '.join(keys)} at once use "
            "--search random (the default then)"
        )
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 2:
        raise UsageError(
            f"--budget: expected an integer >= 2 (trials per optimizer), found {budget}"
        )
    return search


# ----------------------------------------------------------------------------------------------
# Selection


def default_select(cfg: dict) -> str:
    """The best validation loss when there is a validation split, else the final training loss."""
    data = cfg["data"]
    return "val_loss" if data["val_path"] or data["val_fraction"] > 0 else "train_loss"


def check_select(select: str, cfg: dict) -> str:
    if select == "train_loss":
        return select
    if not select.startswith("val_"):
        raise UsageError(
            f"--select: expected train_loss, val_loss or val_<metric> (e.g. "
            f"val_accuracy), found {select!r}"
        )
    if default_select(cfg) != "val_loss":
        raise UsageError(
            f"--select {select}: the config has no validation split "
            "(data.val_fraction is 0 and no data.val_path); use --select train_loss"
        )
    return select


def higher_is_better(select: str) -> bool:
    from nnctl.nn.metrics import HIGHER_IS_BETTER

    return select.startswith("val_") and HIGHER_IS_BETTER.get(select[4:], False)


def selection_value(record: dict, select: str) -> float | None:
    """A run's number for `select` (None for a diverged or skipped run, or a missing metric):
    the final training loss, the best validation loss, or the best validation metric."""
    if record["status"] in ("diverged", "skipped"):
        return None
    if select == "train_loss":
        return record["final_train_loss"]
    if select == "val_loss":
        return record["best_val_loss"]
    if record["metric"] != select:
        raise UsageError(f"--select {select}: the runs report {record['metric']}, not {select}")
    return record["best_val_metric"]


def pick_best(values: list[float | None], higher: bool) -> int | None:
    """Index of the best value (the first of equals: the smaller setting); None if none."""
    best = None
    for i, value in enumerate(values):
        if value is None or not math.isfinite(value):
            continue
        if best is None or (value > values[best] if higher else value < values[best]):
            best = i
    return best


def edges(axes: list[TuneAxis], points: list[dict], chosen: dict) -> dict:
    """{key: "low" | "high"} for each tuned value at the end of the values tried."""
    out = {}
    for axis in axes:
        if axis.key not in chosen:
            continue
        tried = [p[axis.key] for p in points]
        if chosen[axis.key] == min(tried):
            out[axis.key] = "low"
        elif chosen[axis.key] == max(tried):
            out[axis.key] = "high"
    return out


# ----------------------------------------------------------------------------------------------
# Plan


@dataclass
class Tuned:
    """One optimizer of the comparison and its trials (task indexes into the trial plan)."""

    label: str
    name: str
    settings: dict  # the spec's own settings
    keys: list[str]  # the tuned settings it has ([] = no tuning needed)
    trials: list[int] = field(default_factory=list)
    points: list[dict] = field(default_factory=list)


@dataclass
class TuningPlan:
    config: Path
    raw: dict
    base: dict
    axes: list[TuneAxis]
    budget: int
    search: str
    select: str
    seeds: list[int]
    target: float | None
    points: list[dict]
    optimizers: list[Tuned]
    trials: object  # a compare Plan of every trial (seed: the config's)
    skipped: dict  # label -> reason the model refuses the optimizer
    probe: object  # the untuned comparison's plan at the first seed (what the model accepts)


def tuning_plan(
    config: Path,
    specs: list[str],
    overrides: list[str],
    tune: list[str],
    budget: int = DEFAULT_BUDGET,
    search: str | None = None,
    select: str | None = None,
    seeds: int | None = None,
    target_loss: float | None = None,
) -> TuningPlan:
    """Every trial of every optimizer, checked before anything trains."""
    from nnctl.compare.plan import (
        chosen_specs,
        load_config_pair,
        plan_for_specs,
        read_section,
        seeds_and_target,
    )
    from nnctl.compare.specs import OptimizerSpec, unique_labels
    from nnctl.optim import OPTIMIZERS

    axes = [parse_tune(t) for t in tune]
    search = check_options(axes, budget, search)
    raw, base = load_config_pair(config, overrides)
    select = check_select(select, base) if select else default_select(base)
    seed_list, target = seeds_and_target(base, seeds, target_loss)
    chosen = unique_labels(chosen_specs(specs, read_section(base.get("compare"))))
    numeric = {
        e.name: {h.name for h in e.hypers if h.kind in ("float", "int")}
        for e in OPTIMIZERS.entries()
    }
    if not any(a.key in numeric[s.name] for s in chosen for a in axes):
        raise UsageError(
            f"--tune {axes[0].key}: no optimizer of this comparison has a numeric "
            f"setting {axes[0].key}"
        )
    # Which optimizers the model accepts at all: the plan of the untuned comparison says.
    probe = plan_for_specs(config, raw, base, chosen, seed_list[:1], target)
    skipped = {t.label: t.skip_reason for t in probe.tasks if t.cfg is None}
    points = candidates(axes, budget, search, base["seed"])
    optimizers, trial_specs = [], []
    for spec in chosen:
        keys = [a.key for a in axes if a.key in numeric[spec.name]]
        for key in keys:
            if key in spec.settings:
                raise UsageError(
                    f"--tune {key}: the spec {spec.label!r} sets {key}; tuning "
                    "chooses it (drop it from the spec)"
                )
        tuned = Tuned(spec.label, spec.name, dict(spec.settings), keys)
        optimizers.append(tuned)
        if not keys or spec.label in skipped:
            continue
        for point in points:
            values = {k: point[k] for k in keys}
            tuned.points.append(values)
            label = spec.label + " " + " ".join(f"{k}={v:g}" for k, v in values.items())
            trial_specs.append(
                (tuned, OptimizerSpec(label, spec.name, {**spec.settings, **values}, explicit=True))
            )
    trials = plan_for_specs(
        config, raw, base, [s for _, s in trial_specs], seed_list[:1], target, kind="tune"
    )
    for (tuned, _), task in zip(trial_specs, trials.tasks):
        tuned.trials.append(task.index)
    return TuningPlan(
        Path(config),
        raw,
        base,
        axes,
        budget,
        search,
        select,
        seed_list,
        target,
        points,
        optimizers,
        trials,
        skipped,
        probe,
    )
