"""The command line's small betrayals (issue 21, part 5), as a new user meets them, each through
a real `nnctl` process: which weights eval and predict use (--checkpoint), plot without --out,
config init --keep, -V / nnctl version, `--lr 0.1` answered with the config key, --force on
comparison folders, and an invalid -s value blamed on the override."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import run_nnctl

# Momentum SGD on diabetes: the validation loss is lowest before the last epoch (asserted), so
# the best and the delivered (last) weights score differently.
DIABETES = """
seed: 0
data: {name: diabetes, val_fraction: 0.3}
model: {kind: linreg}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 30, batch_size: 16}
"""


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("betrayals")
    config = folder / "diabetes.yaml"
    config.write_text(DIABETES)
    run = folder / "run"
    proc = run_nnctl("train", config, "--out", run, "--json", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return run, json.loads(proc.stdout), rows


def _eval(run, *options):
    proc = run_nnctl("eval", run, "--json", *options)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_eval_checkpoint_chooses_the_weights(diabetes_run):
    run, summary, rows = diabetes_run
    best_row = min(rows, key=lambda row: row["val_loss"])
    assert best_row["epoch"] < summary["epochs"]  # otherwise best and delivered would agree
    delivered = _eval(run)
    assert delivered["checkpoint"] == str(run / "checkpoints" / "last.npz")
    assert delivered["loss"] == summary["final"]["val_loss"] == rows[-1]["val_loss"]
    assert _eval(run, "--checkpoint", "last") == delivered
    best = _eval(run, "--checkpoint", "best")
    assert best["checkpoint"] == str(run / "checkpoints" / "best.npz")
    assert best["loss"] == best_row["val_loss"] < delivered["loss"]


def test_predict_checkpoint_chooses_the_weights(diabetes_run, tmp_path):
    run, _, _ = diabetes_run
    from nnctl.data.builtin import bundled_path

    lines = bundled_path("diabetes.csv").read_text().splitlines()  # the table it learned
    data = tmp_path / "rows.csv"
    data.write_text("\n".join(lines[:6]) + "\n")
    outputs = {}
    for choice in ("delivered", "best", "last"):
        proc = run_nnctl("predict", run, data, "--checkpoint", choice, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        outputs[choice] = proc.stdout
    default = run_nnctl("predict", run, data, cwd=tmp_path)
    assert default.stdout == outputs["delivered"] == outputs["last"]
    assert outputs["best"] != outputs["delivered"]
    assert len(outputs["best"].splitlines()) == 6


def test_checkpoint_refusals_name_the_option(diabetes_run, tmp_path):
    run, _, _ = diabetes_run
    proc = run_nnctl("eval", run, "--checkpoint", "worst")
    assert proc.returncode == 2
    assert "'--checkpoint'" in proc.stderr and "'worst'" in proc.stderr
    proc = run_nnctl("eval", run / "checkpoints" / "last.npz", "--checkpoint", "best")
    assert proc.returncode == 2
    assert "--checkpoint best: picks a file of a run folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_says_which_weights_eval_and_predict_use():
    for command in ("eval", "predict"):
        text = " ".join(run_nnctl(command, "--help").stdout.split())
        assert "uses checkpoints/best.npz" not in text
        assert "--checkpoint delivered|best|last" in text
        assert "delivered (the weights training ended with" in text
        assert "[default: delivered]" in text


def test_checkpoint_choices_are_the_librarys():
    from nnctl.cli.options import CHECKPOINTS
    from nnctl.training.inference import CHECKPOINT_CHOICES

    assert CHECKPOINTS == CHECKPOINT_CHOICES


def test_plot_without_out_writes_the_default_image(diabetes_run, tmp_path):
    pytest.importorskip("matplotlib")
    run, _, _ = diabetes_run
    proc = run_nnctl("plot", run, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    image = run / "curves.png"
    assert f"no --out: writing {image}" in proc.stderr
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image.unlink()  # the run folder stays as training left it for the other tests


def test_config_init_keep_uses_an_id_like_column(tmp_path):
    rows = "".join(f"{1000 + i},{i % 5},{(i * 7) % 3}\n" for i in range(40))
    data = tmp_path / "table.csv"
    data.write_text("patient_id,score,label\n" + rows)
    plain = run_nnctl("config", "init", "--data", data, "--target", "label", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    kept = run_nnctl(
        "config", "init", "--data", data, "--target", "label", "--keep", "patient_id", cwd=tmp_path
    )
    assert kept.returncode == 0, kept.stderr
    import yaml

    def used(text):
        return yaml.safe_load(text)["data"].get("drop", [])

    assert "patient_id" in used(plain.stdout)
    assert "patient_id" not in used(kept.stdout)
    assert "kept (--keep)" in kept.stdout
    wrong = run_nnctl("config", "init", "--data", data, "--keep", "nope", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "--keep nope" in wrong.stderr and "'patient_id'" in wrong.stderr


@pytest.mark.parametrize("words", [["-V"], ["--version"], ["version"]])
def test_version_forms(words):
    from nnctl import __version__

    proc = run_nnctl(*words)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"nnctl {__version__}\n", "")


def test_version_json_names_python_numpy_and_the_extras_found():
    from importlib import metadata

    from nnctl import __version__

    proc = run_nnctl("version", "--json")
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    assert facts["nnctl"] == __version__
    assert facts["python"] == ".".join(map(str, sys.version_info[:3]))
    assert facts["dependencies"]["numpy"] == metadata.version("numpy")
    try:
        matplotlib = metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        assert "plot" not in facts["extras"]
    else:
        assert facts["extras"]["plot"] == {"matplotlib": matplotlib}


def test_version_loads_no_numpy():
    import subprocess

    probe = (
        "import sys\n"
        "from nnctl.cli.app import run\n"
        "sys.argv = ['nnctl', '-V']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print('numpy' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.stdout.splitlines()[-1] == "False", proc.stderr


@pytest.mark.parametrize(
    "words, key",
    [
        (["--lr", "0.1"], "optimizer.lr=0.1"),
        (["--epochs", "5"], "train.epochs=5"),
        (["--epochs=5"], "train.epochs=5"),
        (["--batch-size", "8"], "train.batch_size=8"),
        (["--seed"], "seed=VALUE"),
    ],
)
def test_an_option_that_is_a_config_key_says_how_to_set_it(words, key, tmp_path):
    for command in (["train", "iris-softmax"], ["sweep", "iris-softmax"]):
        proc = run_nnctl(*command, *words, cwd=tmp_path)
        assert proc.returncode == 2
        option = words[0].partition("=")[0]
        assert (
            f"No such option: {option}. Set config keys as KEY=VALUE: {key} (or -s {key})"
            in proc.stderr
        )
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_other_unknown_options_keep_clicks_message(tmp_path):
    proc = run_nnctl("train", "iris-softmax", "--forse", cwd=tmp_path)
    assert proc.returncode == 2
    assert "No such option: --forse" in proc.stderr and "--force" in proc.stderr
    assert "Set config keys" not in proc.stderr
    # eval takes no config settings: no hint about them there
    proc = run_nnctl("eval", "x", "--lr", "0.1", cwd=tmp_path)
    assert proc.returncode == 2 and "Set config keys" not in proc.stderr
    # an option's own value that looks like an option is not taken for one
    proc = run_nnctl(
        "train", "iris-softmax", "--out", "--lr", "-s", "train.epochs=1", "-q", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "--lr" / "summary.json").is_file()


def _compare(*extra, cwd):
    return run_nnctl(
        "compare-optimizers",
        "iris-softmax",
        "-o",
        "sgd",
        "-o",
        "adam",
        "-s",
        "train.epochs=2",
        "--no-plot",
        "-q",
        "--json",
        *extra,
        cwd=cwd,
    )


def test_compare_force_replaces_its_own_folder(tmp_path):
    first = _compare(cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    folder = tmp_path / json.loads(first.stdout)["out"]
    (folder / "sgd" / "metrics.jsonl").write_text("stale\n")  # proof of replacement
    again = _compare("--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert tmp_path / json.loads(again.stdout)["out"] == folder  # not a new name beside it
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
    assert (folder / "sgd" / "metrics.jsonl").read_text() != "stale\n"
    # --out given explicitly: the same rule
    explicit = _compare("--out", "mine", cwd=tmp_path)
    assert explicit.returncode == 0, explicit.stderr
    replaced = _compare("--out", "mine", "--force", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    refused = _compare("--out", "mine", cwd=tmp_path)
    assert refused.returncode == 2 and "choose another --out" in refused.stderr


def test_force_refuses_what_nnctl_did_not_write(tmp_path):
    first = _compare(cwd=tmp_path)
    folder = tmp_path / json.loads(first.stdout)["out"]
    (folder / "notes.txt").write_text("mine")
    proc = _compare("--force", cwd=tmp_path)
    assert proc.returncode == 2
    assert "holds files nnctl did not write (notes.txt)" in proc.stderr
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "plan.json").exists()
    other = tmp_path / "papers"
    other.mkdir()
    (other / "draft.tex").write_text("x")
    proc = run_nnctl(
        "sweep", "iris-softmax", "optimizer.lr=0.1,0.2", "train.epochs=1", "--no-plot", "-q",
        "--out", other, "--force", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"{other}: not a comparison folder nnctl wrote (it holds draft.tex)" in proc.stderr
    assert (other / "draft.tex").read_text() == "x"


def test_sweep_force_replaces_a_sweep_folder(tmp_path):
    words = ["sweep", "iris-softmax", "optimizer.lr=0.1,0.2", "train.epochs=1", "--no-plot", "-q"]
    first = run_nnctl(*words, "--out", "sw", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_nnctl(*words, "--out", "sw", "--force", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(json.loads(again.stdout)["runs"]) == 2
    resumed = run_nnctl("sweep", "--resume", "sw", "--force", cwd=tmp_path)
    assert resumed.returncode == 2 and "drop --force" in resumed.stderr


@pytest.mark.parametrize(
    "override, message",
    [
        ("optimizer.lr=fast", "-s optimizer.lr=fast: expected a number > 0, found 'fast'"),
        ("train.epochs=-3", "-s train.epochs=-3: "),
        ("optimizer=adamx", "-s optimizer=adamx: unknown optimizer 'adamx'"),
    ],
)
def test_an_invalid_override_is_blamed_on_the_override(override, message, tmp_path):
    for words in (["-s", override], [override]):
        proc = run_nnctl("config", "show", "iris-softmax", *words, cwd=tmp_path)
        assert proc.returncode == 2
        assert proc.stderr.startswith(f"error: {message}"), proc.stderr
        assert "iris-softmax.yaml" not in proc.stderr


def test_an_invalid_config_file_is_still_blamed_on_the_file(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("data: {name: iris}\noptimizer: {name: sgd, lr: fast}\n")
    proc = run_nnctl("config", "show", config, "-s", "train.epochs=3", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {config}: optimizer.lr: expected a number > 0")
