"""The example configs shipped in the package (the repository's configs/ points here), so
`nnctl train iris-softmax` works after `pip install nnctl` from any folder.

    names()                 the example names (file stems)
    path_of(name)           the packaged file of one example
    find_config(text)       a config path as given, or the example it names
    copy_to(folder)         write every example out, for editing
"""

from __future__ import annotations

from pathlib import Path

from nnctl.errors import UsageError

FOLDER = Path(__file__).resolve().parent
PREFIX = "examples/"


def names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def path_of(name: str) -> Path:
    return FOLDER / f"{name}.yaml"


def description(name: str) -> str:
    """The comment block an example opens with, as one paragraph."""
    words = []
    for line in path_of(name).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words += line.lstrip("#").split()
    return " ".join(words)


# Words ending in a period that do not end a sentence.
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")


def first_sentence(text: str) -> str:
    """`text` up to the end of its first sentence: a word ending in `.`, `!` or `?` (after a
    closing bracket or quote too) outside brackets, not an abbreviation. The whole text when
    no sentence ends."""
    words, depth = text.split(), 0
    for i, word in enumerate(words):
        depth += word.count("(") + word.count("[") - word.count(")") - word.count("]")
        bare = word.rstrip(")]\"'")
        if depth <= 0 and bare.endswith((".", "!", "?")) and bare.lower() not in ABBREVIATIONS:
            return " ".join(words[: i + 1])
    return " ".join(words)


def summary(name: str) -> str:
    """What an example trains: the first sentence of its opening comment, whole."""
    return first_sentence(description(name))


def find_config(given: Path) -> Path:
    """`given` when that file exists (a local file always wins); else the packaged example it
    names: `iris-softmax`, `iris-softmax.yaml`, `examples/iris-softmax` or `configs/...`; else
    `given` unchanged (loading it reports the missing file)."""
    if given.exists():
        return given
    text = str(given)
    for prefix in (PREFIX, "configs/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    name = text[:-5] if text.endswith(".yaml") else text
    if "/" not in name and name in names():
        return path_of(name)
    return given


def copy_to(folder: Path) -> list[Path]:
    """Write every example into `folder` (created if needed). Existing files are left as they
    are: refusing is kinder than overwriting someone's edits."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: expected a folder to copy the examples into, found a file")
    clashes = [folder / f"{n}.yaml" for n in names() if (folder / f"{n}.yaml").exists()]
    if clashes:
        raise UsageError(
            f"{clashes[0]}: exists; copy into an empty or new folder "
            f"({len(clashes)} of the {len(names())} examples are there already)"
        )
    from nnctl.util.atomic import write_text

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names():
        target = folder / f"{name}.yaml"
        write_text(target, path_of(name).read_text(encoding="utf-8"))
        written.append(target)
    return written
