"""On a terminal (a pseudo-terminal here): NO_COLOR removes colour and styles, not the live bar;
at 40 columns the progress line keeps the epoch and the ETA."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour and style codes (not cursor movement)


def run_on_terminal(args, columns: int, no_color: bool) -> str:
    """nnctl ARGS with stdout and stderr on one pseudo-terminal `columns` wide; all it wrote."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnctl", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("columns", [40, 120])
def test_no_color_keeps_the_live_bar_and_epoch_eta_fit(tmp_path, columns):
    args = ["train", "iris-softmax", "train.epochs=3", "--out", str(tmp_path / f"r{columns}")]
    text = run_on_terminal(args, columns, no_color=True)
    assert not SGR.search(text), repr(text[:400])
    assert "\x1b[?25l" in text  # Rich's live display hides the cursor while it redraws
    lines = [line for line in re.split(r"[\r\n]", text) if "epoch 3/3" in line]
    assert lines and all("eta" in line for line in lines)
    assert max(len(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line)) for line in lines) <= columns
    coloured = run_on_terminal(args[:-1] + [str(tmp_path / f"c{columns}")], columns, no_color=False)
    assert SGR.search(coloured)  # without NO_COLOR a terminal gets colour
