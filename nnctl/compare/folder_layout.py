"""How `--force` recognises a comparison, sweep, ranking or landscape folder nnctl wrote, and
clears it for a new one (util/ownership.py's rules: nnctl's own folder or an empty one, holding
nothing a user added).

A comparison folder has plan.json (written first) or its result file (comparison.json,
ranking.json, landscape.json); besides its result files it holds only run folders (runs/
run_folder.py's layout), `trials/` (run folders of a tuning), a ranking's one comparison folder
per config, and hidden `.partial` folders of runs a worker was still sending.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nnctl.util import ownership

MARKERS = ("plan.json", "comparison.json", "ranking.json", "landscape.json")
RESULT_FILES = {
    *MARKERS,
    "comparison.csv",
    "curves.png",
    "tuning.csv",
    "sensitivity.png",
    "ranking.csv",
    "profile.png",
    "landscape.png",
    # what `nnctl plot FOLDER` writes there without --out
    "boundary.png",
    "boundary.json",
    "weights.png",
    "weights.json",
}
TRIALS = "trials"


def _written_by_nnctl(folder: Path) -> bool:
    return any(ownership.is_real_file(folder / name) for name in MARKERS)


def _own_subfolder(path: Path) -> bool:
    from nnctl.compare.executors.shipping import PARTIAL_SUFFIX
    from nnctl.runs.run_folder import is_own_run_folder

    if not ownership.is_real_folder(path):
        return False
    if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
        return True
    if is_own_run_folder(path):
        return True
    if path.name == TRIALS:
        return all(is_own_run_folder(path / name) for name in ownership.entries(path))
    return ownership.is_own(path, COMPARISON_LAYOUT)  # one config of a ranking


def _not_comparison_files(folder: Path) -> list[str]:
    foreign = []
    for name in ownership.entries(folder):
        path = folder / name
        if name in RESULT_FILES and ownership.is_real_file(path):
            continue
        if not _own_subfolder(path):
            foreign.append(name)
    return foreign


COMPARISON_LAYOUT = ownership.Layout("comparison", _written_by_nnctl, _not_comparison_files)


def clear_for_force(folder: Path) -> None:
    """Empty `folder` for a new comparison (`--force`): nothing when it does not exist or is
    empty; its entries removed when it is a comparison folder nnctl wrote holding only nnctl's
    files; UsageError naming what it holds otherwise (nothing removed). The folder is locked
    first, so a comparison still running there is refused, not cleared."""
    from nnctl.compare.comparison import lock_out_dir

    folder = ownership.check_out_path(folder)  # never the current, home or root folder
    if not folder.is_dir() or folder.is_symlink() or not ownership.entries(folder):
        ownership.check_replaceable(folder, COMPARISON_LAYOUT)  # a file or link: refused
        return
    lock_out_dir(folder)
    ownership.check_replaceable(folder, COMPARISON_LAYOUT)
    for name in ownership.entries(folder):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
