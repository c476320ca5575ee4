"""compare-optimizers, sweeps and landscapes.

    plan = compare_plan(config, ["adam", "sgd:lr=0.1"], overrides=["train.epochs=5"], seeds=2)
    plan = sweep_plan(config, ["optimizer.lr=0.001,0.01", "model.activation=relu,elu"])
    result = run_plan(plan, make_out_dir(None, Path("runs/x-compare")), jobs=2)
    result.data            # comparison.json's content; result.curves: label -> metrics rows

    run_landscape("canyon", [parse_spec("sgd")], start=(-8.0, 1.0), steps=1000)
    compare_on_landscape("canyon", ["sgd", "momentum"], None, None, out=None)  # + landscape.json

specs.py parses `NAME:KEY=VALUE,...` and sweep axes; plan.py builds the runs (fairness: same
seed, init, split, batch order and budget); runner.py runs them through an executor
(executors/: here, in worker processes or on a Dask cluster; same numbers); resume.py keeps
plan.json so `--resume` runs only what is missing; aggregate.py makes the comparison rows;
landscapes.py has the 2-D test functions.

Tuning (`--tune`): tuning.py makes the plan (candidate values, the same budget for every
optimizer, the selection metric), tuned_comparison.py runs the trials, chooses and runs the
chosen settings over the seeds through the same executors. Several configs: problems.py runs the
protocol on each and ranks the optimizers across them (ranking.py: mean rank; profile.py: the
Dolan-More performance profile).
"""

from __future__ import annotations

from nnctl.compare.comparison import Comparison, make_out_dir, resume_comparison, run_plan
from nnctl.compare.plan import Plan, RunTask, compare_plan, read_section, sweep_plan
from nnctl.compare.specs import OptimizerSpec, parse_spec, parse_sweep_option, split_top_level

__all__ = [
    "Comparison",
    "Plan",
    "RunTask",
    "OptimizerSpec",
    "compare_plan",
    "sweep_plan",
    "run_plan",
    "resume_comparison",
    "make_out_dir",
    "read_section",
    "parse_spec",
    "parse_sweep_option",
    "split_top_level",
]
