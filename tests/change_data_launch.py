"""Run the real nnctl CLI in this process and change a data file under the run at a chosen
step, through nnctl's public door for callbacks (callbacks_for_every_run): the tests' way to
truncate or rewrite a memory-mapped .npy while it is being read, at an exact point.

    python tests/change_data_launch.py truncate|rewrite|replace STEP PATH -- train cfg.yaml ...

truncate: cut the file to half its size (a mapped read past the new end would be SIGBUS);
rewrite: overwrite its bytes in place with the same size and a later modification time;
replace: write a copy beside it and rename it over the path (another inode, same content).
"""

from __future__ import annotations

import os
import sys


def change(how: str, path: str) -> None:
    size = os.path.getsize(path)
    if how == "truncate":
        os.truncate(path, size // 2)
    elif how == "rewrite":
        before = os.stat(path).st_mtime_ns
        with open(path, "r+b") as handle:
            handle.seek(size - 8)
            handle.write(b"\x00" * 8)
        os.utime(path, ns=(before + 10**9, before + 10**9))
    elif how == "replace":
        with open(path, "rb") as handle:
            content = handle.read()
        with open(path + ".new", "wb") as handle:
            handle.write(content)
        os.replace(path + ".new", path)


class ChangeAtStep:
    def __init__(self, how: str, step: int, path: str):
        self.how, self.step, self.path = how, step, path

    def on_batch_end(self, state):
        if state.counters.step == self.step:
            change(self.how, self.path)

    def on_epoch_end(self, state, row):
        # A full-batch iteration is one step and ends with its epoch row (no batch end).
        if state.full_batch and state.counters.step == self.step:
            change(self.how, self.path)


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[3] != "--":
        sys.exit("usage: change_data_launch.py truncate|rewrite|replace STEP PATH -- ARGS...")
    from nnctl.cli.app import app
    from nnctl.training.callbacks import callbacks_for_every_run

    with callbacks_for_every_run([ChangeAtStep(argv[0], int(argv[1]), argv[2])]):
        app(args=argv[4:], prog_name="nnctl")


if __name__ == "__main__":
    main(sys.argv[1:])
