"""From a config and the command line to the list of runs of a comparison or a sweep.

Every run gets a fully resolved config, validated here, before anything trains: a bad spec or
sweep value stops the command (exit 2) instead of failing half-way.

Fairness comes from the config: every run of one seed has the same `seed`, hence the same init
stream, split and batch order (nnctl.util.rng), and the same budget (`train.epochs`; full-batch
methods: iterations). The dtype is the config's `train.dtype`: with `auto`, first-order rules run
in float32 and full-batch methods in float64; the init is drawn in float64 and cast, so both start
from the same numbers (`-s train.dtype=float64` puts every run on float64).

Optimizer settings: a spec naming the config's own optimizer starts from the config's settings;
any other optimizer starts from its own defaults (adam's lr is no good for adadelta), then the
spec's settings apply.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from nnctl.compare.specs import (
    OptimizerSpec,
    axis_labels,
    parse_spec,
    parse_sweep_option,
    safe_name,
    spec_from_entry,
    unique_labels,
)
from nnctl.errors import UsageError


@dataclass
class RunTask:
    """One training run of a comparison (picklable: it crosses into worker processes)."""

    index: int
    label: str  # the optimizer spec or the sweep values: the row of the table
    folder: str  # run folder name inside the comparison folder
    seed: int
    optimizer: str
    settings: dict  # optimizer settings given, or the sweep values (for the record)
    cfg: dict | None  # resolved config; None when skipped
    base_dir: str | None = None  # the config's folder (relative data paths)
    skip_reason: str | None = None


@dataclass
class Plan:
    kind: str  # "compare" or "sweep"
    config: str
    seeds: list[int]
    target_loss: float | None
    tasks: list[RunTask] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(t.label for t in self.tasks))


@dataclass
class CompareSection:
    """The optional `compare:` section of a config."""

    optimizers: list[OptimizerSpec] | None = None
    seeds: int = 1
    target_loss: float | None = None


def read_section(section: dict | None) -> CompareSection:
    """The resolved config's `compare:` section (validated by nnctl.config) as specs."""
    if section is None:
        return CompareSection()
    optimizers = section["optimizers"]
    specs = (
        None
        if optimizers is None
        else [
            spec_from_entry(item, f"compare.optimizers[{i}]") for i, item in enumerate(optimizers)
        ]
    )
    return CompareSection(specs, section["seeds"], section["target_loss"])


def load_config_pair(config: Path, overrides: list[str]) -> tuple[dict, dict]:
    """(raw config after -s overrides, its resolved form); errors name the file."""
    from nnctl.config import apply_overrides, load_yaml, resolve

    raw = apply_overrides(load_yaml(config), overrides)
    try:
        return raw, resolve(raw, str(config))
    except UsageError as exc:
        raise UsageError(f"{config}: {exc}") from None


def _resolve_run(raw: dict, where: str) -> dict:
    from nnctl.config import resolve

    raw = {k: v for k, v in raw.items() if k != "compare"}
    train = raw.get("train")
    if isinstance(train, dict) and train.get("threads", "auto") == "auto":
        # One BLAS thread per run: the executor runs one run per core, and the number is the
        # same wherever the run goes (jobs, Dask workers), so the bits are too.
        raw["train"] = {**train, "threads": 1}
    elif train is None:
        raw["train"] = {"threads": 1}
    try:
        return resolve(raw, where)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _seeded(
    plan: Plan,
    label: str,
    folder: str,
    optimizer: str,
    settings: dict,
    cfg: dict | None,
    base_dir: str,
    skip: str | None = None,
) -> None:
    """Adds one task per seed."""
    taken = {
        t.folder.rsplit("-seed", 1)[0] if len(plan.seeds) > 1 else t.folder for t in plan.tasks
    }
    base, n = folder, 2
    while folder in taken:  # two labels that make the same folder name
        folder, n = f"{base}-{n}", n + 1
    if cfg is not None:
        from nnctl.training.prepare import absolute_paths

        # As `nnctl train` records them: the data files found here, by absolute path, so a run
        # folder's config.yaml replays from any folder, whichever executor ran it.
        cfg = absolute_paths(cfg, Path(base_dir) if base_dir else None)
    for seed in plan.seeds:
        run_cfg = None if cfg is None else {**cfg, "seed": seed}
        name = folder if len(plan.seeds) == 1 else f"{folder}-seed{seed}"
        plan.tasks.append(
            RunTask(
                len(plan.tasks), label, name, seed, optimizer, settings, run_cfg, base_dir, skip
            )
        )


# Upper bounds of a comparison's counts (the seeds': nnctl.config.validation.MAX_SEEDS): far
# above any comparison worth running, low enough that a slip (an extra zero or three) is refused
# at once instead of after minutes of planning or hours of running.
MAX_LANDSCAPE_STEPS = 100_000  # steps per optimizer on a 2-D landscape (--steps)
MAX_TUNING_BUDGET = 1000  # trials per tuned optimizer (--budget)


def check_at_most(where: str, value: int, limit: int, what: str) -> None:
    """UsageError naming the option or key, the limit and the value when value > limit."""
    if value > limit:
        raise UsageError(f"{where}: at most {limit} {what}, found {value}")


def _seeds_and_target(
    base: dict, section: CompareSection, seeds: int | None, target_loss: float | None
) -> tuple[list[int], float | None]:
    n, where = (section.seeds, "compare.seeds") if seeds is None else (seeds, "--seeds")
    if n < 1:
        raise UsageError(f"{where}: expected an integer >= 1, found {n}")
    from nnctl.config.validation import MAX_SEEDS

    check_at_most(where, n, MAX_SEEDS, "seeds (runs per optimizer)")
    if target_loss is not None and not target_loss > 0:
        raise UsageError(f"--target-loss: expected a number > 0, found {target_loss:g}")
    return list(range(base["seed"], base["seed"] + n)), (
        target_loss if target_loss is not None else section.target_loss
    )


def compare_plan(
    config: Path,
    specs: list[str],
    overrides: list[str],
    seeds: int | None = None,
    target_loss: float | None = None,
) -> Plan:
    """Runs of `compare-optimizers`: each spec (or each optimizer that applies) x each seed.

    Without specs (on the command line or in `compare.optimizers`) every registered optimizer
    runs with its defaults; those the model refuses (exact on a non-linear model, full-batch
    methods with dropout) are kept as skipped, with the reason.
    """
    raw, base = load_config_pair(config, overrides)
    section = read_section(base.get("compare"))
    seed_list, target = _seeds_and_target(base, section, seeds, target_loss)
    return plan_for_specs(config, raw, base, chosen_specs(specs, section), seed_list, target)


def seeds_and_target(
    base: dict, seeds: int | None, target_loss: float | None
) -> tuple[list[int], float | None]:
    """The seed list and target loss of a comparison: the options, else the compare: section."""
    return _seeds_and_target(base, read_section(base.get("compare")), seeds, target_loss)


def chosen_specs(specs: list[str], section: CompareSection) -> list[OptimizerSpec]:
    """The optimizers of a comparison: the -o specs, else compare.optimizers, else every one."""
    from nnctl.optim import OPTIMIZERS

    if specs:
        return [parse_spec(s) for s in specs]
    if section.optimizers:
        return section.optimizers
    return [OptimizerSpec(e.name, e.name, {}, explicit=False) for e in OPTIMIZERS.entries()]


def plan_for_specs(
    config: Path,
    raw: dict,
    base: dict,
    chosen: list[OptimizerSpec],
    seed_list: list[int],
    target: float | None,
    kind: str = "compare",
) -> Plan:
    """One task per spec and seed; a spec the model refuses is an error when the user asked
    for it (explicit) and a skipped task otherwise."""
    plan = Plan(kind, str(config), seed_list, target)
    base_dir = str(Path(config).resolve().parent)
    for spec in unique_labels(chosen):
        run_raw = copy.deepcopy(raw)
        if spec.name == base["optimizer"]["name"]:
            run_raw["optimizer"] = {**base["optimizer"], **spec.settings}
        else:
            run_raw["optimizer"] = {"name": spec.name, **spec.settings}
        try:
            cfg = _resolve_run(run_raw, f"optimizer {spec.label!r}")
        except UsageError as exc:
            if spec.explicit:
                raise
            _seeded(
                plan,
                spec.label,
                spec.folder,
                spec.name,
                spec.settings,
                None,
                base_dir,
                skip=str(exc).split(": ", 1)[-1],
            )
            continue
        _seeded(plan, spec.label, spec.folder, spec.name, spec.settings, cfg, base_dir)
    return plan


def sweep_plan(
    config: Path, options: list[str], seeds: int | None = None, target_loss: float | None = None
) -> Plan:
    """Runs of `sweep`: the Cartesian product of every `-s KEY=V1,V2,...` (an axis) x each seed;
    a `-s` with one value is a plain override. Overrides apply in the order given."""
    axes = {}
    for i, text in enumerate(options):
        axis = parse_sweep_option(text)
        if len(axis.texts) > 1:
            axes[i] = axis
    plain = [text for i, text in enumerate(options) if i not in axes]
    raw, base = load_config_pair(config, plain)  # checks the plain overrides and the config itself
    section = read_section(base.get("compare"))
    seed_list, target = _seeds_and_target(base, section, seeds, target_loss)
    plan = Plan("sweep", str(config), seed_list, target)
    base_dir = str(Path(config).resolve().parent)
    axis_list = list(axes.values())
    names = axis_labels(axis_list)
    from nnctl.config import apply_overrides, load_yaml

    original = load_yaml(config)
    for combo in itertools.product(*(range(len(a.texts)) for a in axis_list)):
        chosen = dict(zip(axes, combo))  # option index -> value index
        texts = [
            axes[i].override(chosen[i]) if i in axes else text for i, text in enumerate(options)
        ]
        label = " ".join(f"{n}={a.texts[j]}" for n, a, j in zip(names, axis_list, combo))
        label = label or Path(config).stem
        run_raw = apply_overrides(original, texts)
        cfg = _resolve_run(run_raw, f"sweep run {label!r}")
        settings = {a.key: _typed(a.yaml_texts[j], a.key) for a, j in zip(axis_list, combo)}
        _seeded(
            plan,
            label,
            safe_name(label.replace(" ", "_")),
            cfg["optimizer"]["name"],
            settings,
            cfg,
            base_dir,
        )
    return plan


def _typed(text: str, key: str):
    from nnctl.compare.specs import yaml_value

    return yaml_value(text, f"-s {key}")
