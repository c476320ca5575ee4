"""Files a Dask worker returns are written only under their own run folder, by the names
training writes (run_folder's RUN_FILES / CHECKPOINT_FILES / PRODUCED_FOLDERS); any other name,
or a known name in the wrong form, is refused with the name shown and nothing written. The
payloads here come from run_shipped (the worker's own function, run in this process) with one
entry changed: no cluster is needed."""

from __future__ import annotations

import copy

import pytest

from nnctl.errors import UsageError

CONFIG = """\
seed: 0
data: {name: iris}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.1}
train: {epochs: 3, batch_size: 16}
"""


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    from nnctl.compare import compare_plan
    from nnctl.compare.executors.shipping import run_shipped

    folder = tmp_path_factory.mktemp("plan")
    (folder / "iris.yaml").write_text(CONFIG)
    task = compare_plan(folder / "iris.yaml", ["sgd"], []).tasks[0]
    return task, run_shipped(task, None)


def test_an_honest_payload_is_written_in_full(tmp_path, shipped):
    from nnctl.compare.executors.shipping import write_run_folder

    task, payload = shipped
    assert sorted(payload["folder"]) == [
        "checkpoints/best.npz",
        "checkpoints/last.npz",
        "metrics.jsonl",
        "split.npz",
    ]
    write_run_folder(tmp_path, task, payload)
    written = sorted(
        p.relative_to(tmp_path / task.folder).as_posix()
        for p in (tmp_path / task.folder).rglob("*")
        if p.is_file()
    )
    assert written == sorted([*payload["folder"], "config.yaml", "summary.json"])


LIES = [
    ("../escaped.txt", "bytes"),
    ("../../escaped.txt", "bytes"),
    ("/tmp/escaped.txt", "bytes"),
    ("notes.txt", "bytes"),
    (".hidden", "bytes"),
    ("config.yaml", "bytes"),  # the client writes its own (with its paths)
    ("summary.json", "bytes"),
    ("checkpoints", "bytes"),
    ("checkpoints/evil.npz", "npz"),
    ("checkpoints/last.npz", "bytes"),  # a checkpoint must come as arrays, not raw bytes
    ("metrics.jsonl", "npz"),
    ("tb/../escaped.txt", "bytes"),
    ("tb/sub/deeper", "bytes"),
    ("checkpoints\\..\\escaped.txt", "bytes"),
    ("", "bytes"),
]


@pytest.mark.parametrize(("name", "kind"), LIES)
def test_a_file_the_run_folder_does_not_hold_is_refused_and_nothing_written(
    tmp_path, shipped, name, kind
):
    from nnctl.compare.executors.shipping import write_run_folder

    task, payload = shipped
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    lying = copy.deepcopy(payload)
    source = "checkpoints/last.npz" if kind == "npz" else "metrics.jsonl"
    value = lying["folder"][source]
    if lying["folder"].get(name, (None,))[0] == kind:
        pytest.fail(f"{name} as {kind} is what training writes: not a lie")
    lying["folder"][name] = value if value[0] == kind else (kind, value[1])
    with pytest.raises(UsageError) as caught:
        write_run_folder(out, task, lying)
    message = str(caught.value)
    assert message.startswith(f"{out / task.folder}: the Dask worker returned the file ")
    assert repr(name) in message and "refused" in message
    assert list(out.iterdir()) == []  # no run folder, no partial folder
    assert (
        not (tmp_path / "escaped.txt").exists() and not (tmp_path / "deep" / "escaped.txt").exists()
    )


def test_a_payload_without_a_file_listing_is_refused(tmp_path, shipped):
    from nnctl.compare.executors.shipping import write_run_folder

    task, payload = shipped
    lying = {**payload, "folder": ["metrics.jsonl"]}
    with pytest.raises(UsageError, match="returned no list of run files"):
        write_run_folder(tmp_path, task, lying)
    assert list(tmp_path.iterdir()) == []
