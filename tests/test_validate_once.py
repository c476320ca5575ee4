"""`config validate` and the commands agree on what is valid: each config below was passed by
`config validate` before validation moved into the config layer (the compare: section went
through unchecked; the early-stopping rule lived in the trainer), and was refused only by a
command. Now every command refuses it with the one message, before any work starts."""

from __future__ import annotations

import pytest

from conftest import assert_clean_error, run_nnctl

BASE = """\
seed: 0
data: {{name: iris, val_fraction: {val_fraction}}}
model: {{kind: softmax}}
optimizer: {{name: adam}}
train: {{epochs: 2, batch_size: 16{early_stopping}}}
"""

ES = ", early_stopping: {patience: 2}"

CASES = {
    # key path and what was expected, as the message names them
    "compare-seeds-zero": (
        BASE.format(val_fraction=0.2, early_stopping="") + "compare: {seeds: 0}\n",
        "compare.seeds: expected an integer >= 1, found 0",
    ),
    "compare-unknown-key": (
        BASE.format(val_fraction=0.2, early_stopping="") + "compare: {optimisers: [adam]}\n",
        'compare.optimisers: unknown key (did you mean "optimizers"?); '
        "expected one of: optimizers, seeds, target_loss",
    ),
    "compare-bad-spec": (
        BASE.format(val_fraction=0.2, early_stopping="")
        + "compare: {optimizers: [adam, 'sgd:lr=-1']}\n",
        "compare.optimizers[1]: optimizer.lr: expected a number > 0, found -1",
    ),
    "compare-target-loss": (
        BASE.format(val_fraction=0.2, early_stopping="") + "compare: {target_loss: -1}\n",
        "compare.target_loss: expected a number > 0 (or null), found -1",
    ),
    "early-stopping-without-validation": (
        BASE.format(val_fraction=0.0, early_stopping=ES),
        "train.early_stopping: needs validation data; set data.val_fraction > 0 or data.val_path",
    ),
}

# Rules that lived in the engine (nn/, optim/) and now live in the config layer: the same
# message, now from `config show` too, before any data is read.
IRIS = "seed: 0\ndata: {name: iris}\ntrain: {epochs: 2, batch_size: 16}\n"
CASES.update(
    {
        "dropout-on-softmax": (
            IRIS + "model: {kind: softmax, dropout: 0.5}\n",
            "model.dropout: applies to model.kind mlp only, found softmax; set it to 0",
        ),
        "batch-norm-on-softmax": (
            IRIS + "model: {kind: softmax, batch_norm: true}\n",
            "model.batch_norm: applies to model.kind mlp only, found softmax; set it to false",
        ),
        "uniform-init-bounds": (
            IRIS + "model: {kind: softmax}\ninit: {scheme: uniform, low: 0.1, high: 0.1}\n",
            "init.high: expected a number > init.low (0.1), found 0.1",
        ),
        "l2-infinite": (
            IRIS + "model: {kind: softmax}\nloss: {l2: .inf}\n",
            "loss.l2: expected a number >= 0 and finite, found inf",
        ),
        "bias-infinite": (
            IRIS + "model: {kind: softmax}\ninit: {bias: .inf}\n",
            "init.bias: expected a number that is finite, found inf",
        ),
        # passed `config validate` and failed at the first step of training
        "newton-dense-hessian-of-an-mlp": (
            IRIS + "model: {kind: mlp, hidden: [4]}\noptimizer: {name: newton, hessian: exact}\n",
            "optimizer.hessian: exact needs a dense Hessian, which model.kind mlp does not have "
            "(only linreg, logreg or softmax); choose another optimizer.hessian",
        ),
    }
)

# Every command that reads a config, with what it needs besides it.
COMMANDS = {
    "config validate": lambda cfg, tmp: ("config", "validate", cfg),
    "config show": lambda cfg, tmp: ("config", "show", cfg),
    "train": lambda cfg, tmp: ("train", cfg, "--out", tmp / "run", "-q"),
    "gradcheck": lambda cfg, tmp: ("gradcheck", cfg),
    "compare-optimizers": lambda cfg, tmp: (
        "compare-optimizers",
        cfg,
        "-o",
        "adam",
        "--out",
        tmp / "cmp",
        "-q",
        "--no-plot",
    ),
    "sweep": lambda cfg, tmp: (
        "sweep",
        cfg,
        "-s",
        "optimizer.lr=0.01,0.1",
        "--out",
        tmp / "swp",
        "-q",
        "--no-plot",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_command_refuses_what_config_validate_refuses(tmp_path, case):
    text, message = CASES[case]
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    errors = {}
    for name, args in COMMANDS.items():
        proc = run_nnctl(*args(cfg, tmp_path), cwd=tmp_path)
        assert_clean_error(proc, 2, message)
        errors[name] = proc.stderr
    # one message, word for word, naming the file first
    assert set(errors.values()) == {f"error: {cfg}: {message}\n"}, errors
    # refused before any work: no run folder, no comparison folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_a_valid_compare_section_is_resolved_with_its_defaults(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        BASE.format(val_fraction=0.2, early_stopping=ES)
        + "compare: {optimizers: [adam, {name: sgd, lr: 0.1}]}\n"
    )
    proc = run_nnctl("config", "show", cfg, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        "compare:\n  optimizers:\n  - adam\n  - {name: sgd, lr: 0.1}\n  seeds: 1\n"
        "  target_loss: null\n"
    ) in proc.stdout
    proc = run_nnctl("config", "validate", cfg, cwd=tmp_path)
    assert proc.returncode == 0 and f"{cfg}: valid (" in proc.stdout, proc.stderr  # the answer


# Rules that need the data (its task, its size) are checked where the data meets the config
# (prepare.py): `config validate` loads the data and says what `train` says, word for word.
DATA_CASES = {
    "kind-vs-task": (
        IRIS + "model: {kind: logreg}\n",
        "iris: model.kind: logreg needs a binary target, found a multiclass target "
        "with 3 classes; use softmax or mlp",
    ),
    "loss-vs-task": (
        IRIS + "model: {kind: softmax}\nloss: {name: mse}\n",
        "iris: loss.name: mse does not fit a multiclass target with 3 classes; "
        "use cross_entropy (or loss.name: auto)",
    ),
    # softmax on iris: 4 x 3 weights + 3 biases = 15 parameters, 15^2 * 8 B = 0.0017 MB
    "bfgs-matrix-size": (
        IRIS + "model: {kind: softmax}\noptimizer: {name: bfgs, max_matrix_mb: 0.001}\n",
        "optimizer.name: bfgs keeps a 15 x 15 matrix (0 MB), above "
        "optimizer.max_matrix_mb = 0.001; use optimizer.name: lbfgs",
    ),
    "newton-hessian-size": (
        IRIS + "model: {kind: softmax}\noptimizer: {name: newton, max_hessian_mb: 0.001}\n",
        "optimizer.hessian: a dense Hessian of 15 parameters takes 0 MB, "
        "above optimizer.max_hessian_mb = 0.001; use optimizer.hessian: "
        "free or optimizer.name: lbfgs",
    ),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_config_validate_refuses_what_train_refuses_once_the_data_is_known(tmp_path, case):
    text, message = DATA_CASES[case]
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    errors = {}
    for name in ("config validate", "train"):
        proc = run_nnctl(*COMMANDS[name](cfg, tmp_path), cwd=tmp_path)
        assert_clean_error(proc, 2, message)
        errors[name] = proc.stderr
    assert set(errors.values()) == {f"error: {message}\n"}, errors
    assert not (tmp_path / "run" / "checkpoints" / "last.npz").exists()
