"""`nnctl config init`: a complete, commented config for a user's own table.

It says what it found (the columns it uses, those it leaves out and why, the task, the missing
cells) and picks settings that train well: for the one-linear-layer models (a convex objective)
L-BFGS on the whole training objective with a little L2 (no learning rate to tune, converges in
tens of iterations); for a kind with hidden layers (the MLP) Adam with early stopping on the
validation loss. The kind for a task, unless --model names one, is the one whose `starter_for`
lists the task (nnctl/nn/kinds.py).
"""

from __future__ import annotations

from pathlib import Path


def _yaml_text(value) -> str:
    """A string or list of strings as one line of YAML flow text, written by the YAML library
    with every string double-quoted: a column name holding a line break, `#`, `: ` or a
    control character reads back as that name, never as YAML structure."""
    import yaml

    text = yaml.safe_dump(
        value, default_flow_style=True, default_style='"', allow_unicode=True, width=1 << 30
    )
    return text.strip().removesuffix("...").strip()


def _comment_safe(line: str) -> str:
    """One line of the file with every character YAML could take for a line break (or would
    refuse) escaped: a header shown in a comment stays inside the comment."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in line
    )


def starter_kind(task: str):
    """The model kind `config init` picks for `task`: the first that lists it in `starter_for`."""
    from nnctl.nn.kinds import kinds

    return next(k for k in kinds() if task in k.starter_for)


def starter_config(data_path: str, target: str | None, model: str | None = None, keep=()) -> str:
    """The starter config's YAML text. `keep`: columns to use even though the profile would
    leave them out (an integer column that looks like an identifier but is a measurement)."""
    from nnctl.data.profile import profile_table
    from nnctl.nn.kinds import kinds, model_kind, or_list

    facts = profile_table(data_path, target)
    names = [c.name for c in facts.columns]
    for name in keep:
        if name not in names:
            from nnctl.errors import UsageError

            raise UsageError(
                f"--keep {name}: {data_path} has no such feature column (its columns: "
                f"{', '.join(repr(n) for n in names[:12])}{', ...' if len(names) > 12 else ''})"
            )
    for c in facts.columns:
        if c.name in keep and c.drop_reason is not None:
            c.note = f"kept (--keep) although it looks like: {c.drop_reason}"
            c.drop_reason = None
    kind = model_kind(model, "--model") if model else starter_kind(facts.task)
    if facts.task not in kind.tasks:
        from nnctl.errors import UsageError

        found = (
            "is numeric (regression)"
            if facts.task == "regression"
            else f"looks like {facts.task} classification"
        )
        others = or_list([k.name for k in kinds() if facts.task in k.tasks])
        raise UsageError(f"--model {kind.name}: the target {facts.target!r} {found}; use {others}")
    used, dropped = facts.used, [c for c in facts.columns if c.drop_reason is not None]
    missing = [c for c in used if c.n_missing]
    categorical = [c for c in used if c.kind == "categorical"]
    classes = f", {facts.n_classes} classes" if facts.n_classes else ""

    out = [
        f"# Starter config for {facts.path} ({facts.n_rows} rows, {_layout(facts)}),",
        "# written by `nnctl config init`. Train it with: nnctl train THIS_FILE.yaml",
        f"# Task: {facts.task}{classes}, target column {facts.target!r}"
        + ("" if target else " (no --target given: the last column)")
        + (
            f" ({facts.target_missing} rows without a target are left out)."
            if facts.target_missing
            else "."
        ),
        "# Columns used:",
    ]
    for c in used:
        detail = (
            f"categorical, {c.n_distinct} categories (one-hot)"
            if c.kind == "categorical"
            else "numeric"
        )
        gaps = f", {c.n_missing} missing" if c.n_missing else ""
        stray = f" (incl. {', '.join(map(repr, c.stray))}, read as missing)" if c.stray else ""
        note = f"; {c.note}" if c.note else ""
        out.append(f"#   {c.name or '(no name)'}: {detail}{gaps}{stray}{note}")
    if dropped:
        out.append("# Columns left out (data.drop; to use one: nnctl config init --keep COLUMN):")
        out += [f"#   {c.name or '(no name)'}: {c.drop_reason}" for c in dropped]
    out += [
        "seed: 0",
        "data:",
        f"  path: {_yaml_text(str(Path(data_path).resolve()))}",
        f"  target: {_yaml_text(facts.target)}",
        f"  drop: {_yaml_text([c.name for c in dropped])}",
    ]
    if missing:
        total = sum(c.n_missing for c in missing)
        out.append(
            f"  missing: impute       # {total} missing cells in {len(missing)} "
            f"column{'s' if len(missing) > 1 else ''}: training medians / most frequent "
            "values (or drop_rows, or error)"
        )
    else:
        out.append("  missing: error        # no missing cells found; new ones will be refused")
    out.append(f"  na_values: {_yaml_text(facts.na_values)}")
    out.append(
        "  categorical: auto     # text columns are one-hot encoded"
        + (f" ({', '.join(c.name for c in categorical)})" if categorical else "")
    )
    out.append("  val_fraction: 0.2")
    out.append("  standardize: true     # features to mean 0, std 1 (fitted on the training part)")
    if facts.task == "regression":
        out.append("  standardize_target: auto   # train on a scaled target; report in its units")
    out.append(
        f"model: {{kind: {kind.name}"
        + (", hidden: [64], activation: relu}" if kind.takes_hidden else "}")
    )
    if not kind.one_linear_layer:
        out += [
            "optimizer: {name: adam, lr: 0.001}",
            "train:",
            "  epochs: 200",
            "  batch_size: 32",
            "  early_stopping: {metric: val_loss, patience: 20}   # keeps the best weights",
        ]
    else:
        out += [
            "loss: {l2: 0.001}          # a little ridge: stable with correlated columns",
            "optimizer: {name: lbfgs}   # full batch; no learning rate to tune",
            "train: {epochs: 100}       # L-BFGS iterations (stops early when converged)",
        ]
    return "\n".join(_comment_safe(line) for line in out) + "\n"


def _layout(facts) -> str:
    """'comma-separated' for a CSV file, else the table's format ('Parquet')."""
    return facts.layout or f"{facts.delimiter}-separated"
