"""Writes to device files are refused with the path named (exit 2), before anything is written:
an output file or folder that is a character or block device, a FIFO, a link to one, or any
path in /dev, /proc or /sys (/dev/stdout included: an atomic write's rename would replace the
link). /dev/shm, an ordinary memory file system, stays writable."""

from __future__ import annotations

import os
import stat

import pytest

from conftest import assert_clean_error, run_nnctl
from nnctl.errors import UsageError
from nnctl.util.atomic import write_text
from nnctl.util.input_files import check_output_path


@pytest.fixture
def device(tmp_path):
    """A character device to aim at: a null device made in tmp_path (root may), else /dev/null
    itself (a user who is not root cannot replace it, so a failing test harms nothing)."""
    path = tmp_path / "null-device"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        if os.geteuid() == 0:
            pytest.fail("root could not make a device node in tmp_path")
        return "/dev/null"
    return path


def assert_still_a_device(path):
    assert stat.S_ISCHR(os.lstat(path).st_mode), f"{path} was replaced by a file"


def test_train_out_on_a_device_is_refused(tmp_path, device):
    proc = run_nnctl("train", "iris-softmax", "-q", "--out", device, cwd=tmp_path)
    assert_clean_error(proc, 2)
    assert f"{device}: --out: expected a folder name to write, found a character device" in (
        proc.stderr
    )
    assert_still_a_device(device)


def test_export_out_on_a_device_or_a_link_to_one_is_refused(tmp_path, device):
    run = tmp_path / "run"
    proc = run_nnctl(
        "train", "iris-softmax", "-q", "--out", run, "-s", "train.epochs=2", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    link = tmp_path / "out.json"
    link.symlink_to(device)
    for target in (device, link):
        proc = run_nnctl("export", run, "--format", "json", "--out", target, cwd=tmp_path)
        assert_clean_error(proc, 2)
        assert f"{target}: --out: expected a file name to write, found a character device" in (
            proc.stderr
        )
        assert_still_a_device(device)
    assert link.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_atomic_writes_refuse_a_fifo_and_leave_nothing(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(
        UsageError, match="pipe: output file: expected a file name to write, found a FIFO"
    ):
        write_text(fifo, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("path", ["/dev/stdout", "/dev/sda", "/dev/no-such-file", "/proc/x"])
def test_paths_in_system_folders_are_refused_without_writing(path):
    with pytest.raises(UsageError) as caught:
        check_output_path(path, "--out")
    message = str(caught.value)
    assert message.startswith(f"{path}: --out: ")
    assert "refused" in message


def test_dev_shm_and_ordinary_paths_stay_writable(tmp_path):
    check_output_path(tmp_path / "model.json", "--out")
    check_output_path("/dev/shm/model.json", "--out")
    check_output_path("-", "--out")  # a file named '-' in the current folder, as before
