"""The config: schema, YAML loading, `-s key=value` overrides, validation and error texts.

The schema is declared once, here, as `Hyper`s for the fixed sections and by reference to the
registries for the named parts (dataset, activation, init scheme, loss, optimizer, schedule):
`resolve` fills every default and validates; `json_schema` and `reference_markdown` are generated
from the same declarations. A resolved config is a plain dict that replays the run as is.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from nnctl.errors import UsageError
from nnctl.util.input_files import stat_regular_file
from nnctl.util.registry import Hyper, Registry, check_keys, non_negative, positive, unit_open
from nnctl.util.tasks import TASKS

MAX_CONFIG_BYTES = 1_000_000  # a config is a few hundred bytes; refuse what cannot be one
MAX_YAML_NODES = 100_000  # bounds YAML alias ("billion laughs") expansion
MAX_YAML_DEPTH = 100  # a config nests 3 levels: room to spare, and far from recursion limits

# Fixed sections: key -> Hyper. Named parts (`name`/`scheme` + the entry's hypers) are added
# from the registries at resolve time.
DATA = (
    Hyper(
        "name",
        "str",
        None,
        "built-in dataset (see `nnctl datasets`); or give `path`",
        nullable=True,
    ),
    Hyper(
        "params",
        "any",
        None,
        "settings of a synthetic dataset, e.g. {n_samples: 2000, noise: 0.2}",
        nullable=True,
    ),
    Hyper(
        "path",
        "str",
        None,
        "data file: CSV, NPZ (X, y), NPY (X; y in labels_path) or IDX images",
        nullable=True,
    ),
    Hyper("labels_path", "str", None, "the targets file for NPY or IDX data", nullable=True),
    Hyper(
        "target",
        "str",
        None,
        "CSV target column (default: `target`, else the last column)",
        nullable=True,
    ),
    Hyper("format", "str", "auto", "file format", choices=("auto", "csv", "npz", "npy", "idx")),
    Hyper(
        "task",
        "str",
        "auto",
        "learning task; auto infers it from the target",
        choices=("auto",) + TASKS,
    ),
    Hyper(
        "val_fraction",
        "float",
        0.2,
        "share of the data held out for validation (seeded)",
        check=unit_open,
        expect="in [0, 1)",
    ),
    Hyper(
        "val_path",
        "str",
        None,
        "a separate validation file (same format); replaces val_fraction",
        nullable=True,
    ),
    Hyper(
        "val_labels_path",
        "str",
        None,
        "the targets file of val_path for NPY or IDX data",
        nullable=True,
    ),
    Hyper("stratify", "bool", True, "keep class proportions in the split (classification)"),
    Hyper(
        "standardize", "bool", True, "scale features to mean 0, std 1 (fitted on the training part)"
    ),
    Hyper(
        "drop",
        "any",
        [],
        'CSV columns left out (e.g. [id]); "" names a column with an empty header (R row names)',
        expect="(a list of column names)",
    ),
    Hyper(
        "missing",
        "str",
        "error",
        "CSV cells in na_values: error (names them), drop_rows, or "
        "impute (training median; most frequent value for categorical columns)",
        choices=("error", "drop_rows", "impute"),
    ),
    Hyper(
        "na_values",
        "any",
        ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"],
        "cell texts that mean a missing value (rows with a missing target are never trained on)",
        expect="(a list of texts)",
    ),
    Hyper(
        "categorical",
        "any",
        "auto",
        "auto: every non-numeric CSV column is one-hot encoded "
        "(categories from the training part); a list of columns; or none",
        expect="(auto, none or a list of column names)",
    ),
    Hyper(
        "delimiter",
        "str",
        "auto",
        "CSV field separator: auto (detects comma, semicolon, tab "
        "or pipe) or one character, or its name (comma, semicolon, tab, pipe)",
    ),
    Hyper(
        "standardize_target",
        "any",
        "auto",
        "auto (= true for regression): train on the "
        "target scaled to mean 0, std 1; metrics and predictions stay in its own units; or false",
        expect="(auto, true or false)",
    ),
)


def _model_hypers() -> tuple[Hyper, ...]:
    """The model section; its kinds come from the MODELS registry (nn/kinds.py), imported here,
    late, so that importing the config layer (and `nnctl --help`) does not load NumPy."""
    from nnctl.nn.kinds import MODELS, or_list

    return (
        Hyper(
            "kind", "str", "mlp", f"model: {or_list(MODELS.names())}", choices=tuple(MODELS.names())
        ),
        Hyper(
            "hidden",
            "ints",
            (64,),
            "mlp hidden layer sizes",
            check=lambda v: all(h >= 1 for h in v),
            expect="each >= 1",
        ),
        Hyper(
            "activation", "any", "relu", "mlp activation: a name, or {name: leaky_relu, slope: 0.1}"
        ),
        Hyper(
            "dropout",
            "float",
            0.0,
            "mlp dropout probability after each hidden activation",
            check=unit_open,
            expect="in [0, 1)",
        ),
        Hyper(
            "batch_norm", "bool", False, "mlp batch normalisation after each hidden linear layer"
        ),
        Hyper(
            "init_from",
            "str",
            None,
            "warm start: an nnctl checkpoint or .npz of parameter arrays",
            nullable=True,
        ),
    )


def _finite(v) -> bool:
    return math.isfinite(v)


INIT = (
    Hyper(
        "bias",
        "float",
        0.0,
        "constant every bias starts at",
        check=_finite,
        expect="that is finite",
    ),
)

LOSS = (
    Hyper(
        "l2",
        "float",
        0.0,
        "L2 penalty 0.5 * l2 * ||W||^2 on weights (not biases)",
        check=lambda v: _finite(v) and v >= 0,
        expect=">= 0 and finite",
    ),
)

EARLY_STOPPING = (
    Hyper(
        "metric", "str", "val_loss", "monitored value: val_loss or val_<metric> (e.g. val_accuracy)"
    ),
    Hyper(
        "patience",
        "int",
        10,
        "epochs without improvement before stopping",
        check=lambda v: v >= 1,
        expect=">= 1",
    ),
    Hyper(
        "min_delta",
        "float",
        0.0,
        "smallest change that counts as an improvement",
        check=non_negative,
        expect=">= 0",
    ),
    Hyper("restore_best", "bool", True, "end with the best weights instead of the last"),
)

TRAIN = (
    Hyper(
        "epochs",
        "int",
        20,
        "passes over the training data (iterations for full-batch methods)",
        check=non_negative,
        expect=">= 0",
    ),
    Hyper(
        "batch_size",
        "int",
        32,
        "samples per mini-batch (first-order optimizers)",
        check=positive,
        expect=">= 1",
    ),
    Hyper("shuffle", "bool", True, "reshuffle the training data every epoch (seeded)"),
    Hyper(
        "dtype",
        "str",
        "auto",
        "auto: float32 for mini-batch training, float64 for full-batch",
        choices=("auto", "float32", "float64"),
    ),
    Hyper(
        "clip_grad_norm",
        "float",
        None,
        "clip the gradient to this global norm",
        check=positive,
        expect="> 0",
        nullable=True,
    ),
    Hyper(
        "early_stopping",
        "any",
        None,
        "null, or {metric, patience, min_delta, restore_best}",
        nullable=True,
    ),
    Hyper(
        "on_nonfinite",
        "str",
        "stop",
        "on a NaN/inf loss or gradient: stop (exit 1) or skip_batch",
        choices=("stop", "skip_batch"),
    ),
    Hyper(
        "threads",
        "any",
        "auto",
        "BLAS threads of the run: an integer >= 1, or auto (the BLAS "
        "default here; 1 in compare-optimizers and sweep), recorded as a number",
    ),
)

OUTPUT = (
    Hyper(
        "dir", "str", None, "run folder (default runs/<config name>, made unique)", nullable=True
    ),
)

# The compare: section: defaults of compare-optimizers and sweep (the command line beats them).
COMPARE = (
    Hyper(
        "optimizers",
        "any",
        None,
        "optimizers to compare: specs such as adam or sgd:lr=0.1, or "
        "mappings {name: sgd, lr: 0.1} (default: every optimizer that applies)",
        nullable=True,
    ),
    Hyper(
        "seeds",
        "int",
        1,
        "repeat every run with this many seeds: seed, seed+1, ...",
        check=positive,
        expect=">= 1",
    ),
    Hyper(
        "target_loss",
        "float",
        None,
        "train_loss (data loss, no penalty) whose first "
        "crossing is reported "
        "(default: 1% above the lowest any run reached)",
        check=positive,
        expect="> 0",
        nullable=True,
    ),
)

SECTIONS = (
    "seed",
    "data",
    "model",
    "init",
    "loss",
    "optimizer",
    "schedule",
    "train",
    "output",
    "compare",
)
SEED = Hyper(
    "seed",
    "int",
    0,
    "the one seed every random stream is drawn from",
    check=non_negative,
    expect=">= 0",
)


def _registries() -> dict[str, Registry]:
    """The registries the named parts refer to (imported late: keeps `nnctl --help` fast)."""
    from nnctl.data import DATASETS
    from nnctl.nn import ACTIVATIONS, INITS, LOSSES
    from nnctl.optim import OPTIMIZERS, SCHEDULES

    return {
        "dataset": DATASETS,
        "activation": ACTIVATIONS,
        "init": INITS,
        "loss": LOSSES,
        "optimizer": OPTIMIZERS,
        "schedule": SCHEDULES,
    }


# ----------------------------------------------------------------------------------------------
# Loading and overrides


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses what no config needs and a hostile file uses: alias expansion
    that would explode, nesting deeper than MAX_YAML_DEPTH (PyYAML's composer recurses, so
    thousands of levels would end in RecursionError), and a key given twice in one mapping
    (YAML keeps the last silently: `lr: 0.1` ... `lr: 5.0` would train with 5.0)."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise UsageError(
                    f"{self.name}:{mark.line + 1}:{mark.column + 1}: YAML nested more "
                    f"than {MAX_YAML_DEPTH} levels deep; refused"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicate_keys(self, node) -> None:
        """Checked on the mapping's own keys, before merge keys (`<<: *base`) are flattened in:
        overriding a merged key is what merging is for."""
        seen: dict = {}
        for key_node, _ in node.value:
            merge = key_node.tag == "tag:yaml.org,2002:merge"
            if merge or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # unhashable: the base constructor reports it
                continue
            if first is not key_node:
                line1, line2 = first.start_mark.line + 1, key_node.start_mark.line + 1
                raise UsageError(
                    f"{self.name}:{line2}: duplicate key {key_node.value!r} (first at "
                    f"line {line1}); give each key once"
                )

    def construct_document(self, node):
        count = 0
        stack = [node]
        while stack:
            current = stack.pop()
            count += 1
            if count > MAX_YAML_NODES:
                raise UsageError(
                    f"{self.name}: the YAML expands to more than {MAX_YAML_NODES} nodes "
                    "(an alias bomb?); refused"
                )
            if isinstance(current, yaml.MappingNode):
                for k, v in current.value:
                    stack.extend((k, v))
            elif isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
        return super().construct_document(node)


def parse_yaml_text(text: str, source: str) -> Any:
    loader = None
    try:
        loader = _BoundedLoader(text)  # its reader already refuses control characters
        loader.name = source
        return loader.get_single_data()
    except yaml.constructor.ConstructorError as exc:
        # Safe loading: a tag such as !!python/object is refused, never constructed.
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        tag = (exc.problem or "").rpartition("tag ")[2] or "this tag"
        raise UsageError(
            f"{where}: YAML tag {tag} is not allowed; configs are plain YAML "
            "(mappings, lists, strings, numbers, booleans, null)"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise UsageError(f"{where}: YAML syntax error: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise UsageError(
            f"{source}:{line}:{column}: expected YAML text, found the control "
            f"character U+{code:04X}"
        ) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: YAML error: {exc}") from None
    except RecursionError:  # a last guard: MAX_YAML_DEPTH should stop any nesting before this
        raise UsageError(f"{source}: YAML nested too deeply; refused") from None
    except ValueError as exc:  # an integer of more than 4300 digits (Python's int-from-str limit)
        reason = str(exc).split(":")[0]  # the rest is advice about Python's own settings
        raise UsageError(f"{source}: a YAML value cannot be read ({reason}); refused") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: str | os.PathLike) -> dict:
    if str(path) == "-":  # `nnctl train -`: the config comes on standard input
        data, name = _read_stdin(MAX_CONFIG_BYTES + 1), "<stdin>"
    else:
        path = Path(path)
        name = str(path)
        stat_regular_file(path, "config file", "a YAML config file")  # no FIFO, no /dev/zero
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)  # bounded by what is read, not st_size
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the config ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise UsageError(
            f"{name}: more than {MAX_CONFIG_BYTES} bytes, far beyond a config's size; refused"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{name}: expected a UTF-8 YAML file, found binary data") from None
    raw = parse_yaml_text(text, name)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UsageError(
            f"{name}: expected a mapping of sections (seed, data, model, ...), "
            f"found {type(raw).__name__}"
        )
    return raw


def _read_stdin(limit: int) -> bytes:
    import sys

    if sys.stdin is None:
        raise UsageError("<stdin>: the config was to come on standard input, which is closed")
    try:
        return sys.stdin.buffer.read(limit)
    except OSError as exc:
        raise UsageError(f"<stdin>: cannot read the config ({exc.strerror})") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """'optimizer.lr=0.1' -> (['optimizer', 'lr'], 0.1); the value is typed as YAML."""
    if "=" not in text:
        raise UsageError(f"-s {text!r}: expected KEY.PATH=VALUE, e.g. -s optimizer.lr=0.01")
    key, _, value = text.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise UsageError(f"-s {text!r}: expected KEY.PATH=VALUE, found an empty key")
    return parts, parse_yaml_text(value, f"-s {key}") if value.strip() else None


# Sections that may be written as a bare name: `optimizer: adam` means `optimizer: {name: adam}`.
_NAME_KEY = {"optimizer": "name", "schedule": "name", "loss": "name", "init": "scheme"}


def _expand_shorthand(raw: dict) -> dict:
    raw = dict(raw)
    for section, key in _NAME_KEY.items():
        if isinstance(raw.get(section), str):
            raw[section] = {key: raw[section]}
    return raw


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `-s` overrides to a raw config; returns a new dict.

    Changing `optimizer.name` (or `schedule.name`) drops the old entry's settings that the new
    one does not have (e.g. adam's `betas` when switching to sgd), so `-s optimizer.name=lbfgs`
    works on any config; `model.kind` likewise drops the MLP settings a one-layer kind does not
    take. Settings given with `-s` are always kept (and validated).
    """
    out = _expand_shorthand(copy.deepcopy(raw))
    renamed: set[str] = set()  # sections whose entry name was overridden
    set_keys: dict[str, set[str]] = {}  # settings given with -s, per section
    for text in overrides:
        parts, value = parse_override(text)
        if parts[0] in _NAME_KEY and len(parts) == 1 and isinstance(value, str):
            parts = [parts[0], _NAME_KEY[parts[0]]]
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise UsageError(f"-s {text}: {where} is {child!r}, not a section with keys")
            node = child
        node[parts[-1]] = value
        if parts[0] in ("optimizer", "schedule", "model") and len(parts) >= 2:
            if parts[1] == ("kind" if parts[0] == "model" else "name"):
                renamed.add(parts[0])
            else:
                set_keys.setdefault(parts[0], set()).add(parts[1])
    if "model" in renamed:
        _drop_model_settings(out, set_keys.get("model", set()))
        renamed.discard("model")
    for section in renamed:
        if not isinstance(out.get(section), dict):
            continue  # a later -s replaced the section (-s optimizer=null): resolve() reports it
        entry_name = out[section].get("name")
        registry = _registries()[section]
        if entry_name not in registry:
            continue  # resolve() reports the unknown name
        known = {h.name for h in registry.get(entry_name).hypers} | {"name"}
        keep = set_keys.get(section, set())
        dropped = [
            f"{key}={json.dumps(out[section][key])}"
            for key in out[section]
            if key not in known and key not in keep
        ]
        for text in dropped:
            del out[section][text.partition("=")[0]]
        if dropped:
            import warnings

            warnings.warn(
                f"-s {section}.name={entry_name}: dropped the settings {entry_name} does "
                f"not take: {', '.join(dropped)}",
                stacklevel=2,
            )
    return out


def _drop_model_settings(out: dict, kept: set[str]) -> None:
    """-s model.kind=logreg on an MLP config: its hidden/activation/dropout/batch_norm would
    be refused (a setting that does nothing); they are dropped, with one line saying so."""
    model = out.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("kind"), str):
        return
    from nnctl.nn.kinds import MODELS, model_kind

    if model["kind"] not in MODELS:
        return  # resolve() reports the unknown kind
    kind = model_kind(model["kind"])
    takes = {
        "hidden": kind.takes_hidden,
        "activation": kind.takes_hidden,
        "dropout": kind.takes_dropout,
        "batch_norm": kind.takes_batch_norm,
    }
    dropped = [
        f"{key}={json.dumps(model[key])}"
        for key, taken in takes.items()
        if not taken and key in model and key not in kept
    ]
    for text in dropped:
        del model[text.partition("=")[0]]
    if dropped:
        import warnings

        warnings.warn(
            f"-s model.kind={kind.name}: dropped the settings {kind.name} does not "
            f"take: {', '.join(dropped)}",
            stacklevel=3,
        )


# ----------------------------------------------------------------------------------------------
# Validation


def _section(raw: dict, name: str) -> dict:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{name}: expected a mapping of settings, found {value!r}")
    return value


def _resolve_fixed(given: dict, hypers, where: str, extra_allowed=()) -> dict:
    check_keys(given, [h.name for h in hypers] + list(extra_allowed), where)
    return {
        h.name: (h.convert(given[h.name], f"{where}.{h.name}") if h.name in given else h.default)
        for h in hypers
    }


def _resolve_named(given: dict, registry: Registry, where: str, key: str, default: str) -> dict:
    """`{key: NAME, **settings}` validated against the registry entry NAME."""
    given = dict(given)
    name = given.pop(key, default)
    entry = registry.get(name, f"{where}.{key}")
    settings = registry.resolve(entry.name, given, where)
    if "validate" in entry.info:  # rules across an entry's own settings (init.high > init.low)
        entry.info["validate"](settings, where)
    return {key: entry.name, **settings}


def resolve(raw: dict, source: str = "config") -> dict:
    """Validate a raw config (after overrides) and return it with every default filled in.

    Raises UsageError naming the key path. The result contains only plain YAML types.
    """
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: expected a mapping of sections, found {type(raw).__name__}")
    raw = _expand_shorthand(raw)
    check_keys(raw, SECTIONS, "")
    regs = _registries()
    cfg: dict[str, Any] = {}
    cfg["seed"] = SEED.convert(raw["seed"], "seed") if "seed" in raw else SEED.default

    data = _resolve_fixed(_section(raw, "data"), DATA, "data")
    if (data["name"] is None) == (data["path"] is None):
        raise UsageError(
            "data: expected exactly one of data.name (a built-in dataset) or data.path "
            f"(a file), found {'both' if data['name'] else 'neither'}"
        )
    if data["name"] is not None:
        entry = regs["dataset"].get(data["name"], "data.name")
        data["name"] = entry.name
        if data["params"] is not None and not isinstance(data["params"], dict):
            raise UsageError(
                f"data.params: expected a mapping of settings, found {data['params']!r}"
            )
        data["params"] = regs["dataset"].resolve(entry.name, data["params"], "data.params")
    elif data["params"]:
        raise UsageError(
            "data.params: settings apply to built-in synthetic datasets only; "
            "remove them or use data.name"
        )
    _check_data_columns(data)
    cfg["data"] = data

    model = _resolve_fixed(_section(raw, "model"), _model_hypers(), "model")
    act = model["activation"]
    act = {"name": act} if isinstance(act, str) else act
    if not isinstance(act, dict):
        raise UsageError(f"model.activation: expected a name or {{name: ..., ...}}, found {act!r}")
    act_resolved = _resolve_named(act, regs["activation"], "model.activation", "name", "relu")
    # Keep the plain name when no setting differs from its default: configs stay readable.
    act_defaults = regs["activation"].get(act_resolved["name"]).defaults()
    simple = all(act_resolved[k] == v for k, v in act_defaults.items())
    model["activation"] = act_resolved["name"] if simple else act_resolved
    model["hidden"] = list(model["hidden"])
    cfg["model"] = model

    init_raw = _section(raw, "init")
    init_fixed = {k: v for k, v in init_raw.items() if k == "bias"}
    init_named = {k: v for k, v in init_raw.items() if k != "bias"}
    cfg["init"] = {
        **_resolve_named(init_named, regs["init"], "init", "scheme", "auto"),
        **_resolve_fixed(init_fixed, INIT, "init"),
    }

    loss_raw = dict(_section(raw, "loss"))
    loss_name = loss_raw.pop("name", "auto")
    cfg["loss"] = {
        "name": loss_name if loss_name == "auto" else regs["loss"].get(loss_name, "loss.name").name,
        **_resolve_fixed(loss_raw, LOSS, "loss"),
    }

    cfg["optimizer"] = _resolve_named(
        _section(raw, "optimizer"), regs["optimizer"], "optimizer", "name", "adam"
    )
    cfg["schedule"] = _resolve_named(
        _section(raw, "schedule"), regs["schedule"], "schedule", "name", "constant"
    )

    train = _resolve_fixed(_section(raw, "train"), TRAIN, "train")
    es = train["early_stopping"]
    if es is not None:
        if es is True:
            es = {}
        if not isinstance(es, dict):
            raise UsageError(
                f"train.early_stopping: expected null or a mapping "
                f"{{metric, patience, min_delta, restore_best}}, found {es!r}"
            )
        train["early_stopping"] = _resolve_fixed(es, EARLY_STOPPING, "train.early_stopping")
    from nnctl.util.threads import (
        resolve_threads,  # the count changes the last bits: part of the config
    )

    train["threads"] = resolve_threads(train["threads"], "train.threads")
    cfg["train"] = train
    cfg["output"] = _resolve_fixed(_section(raw, "output"), OUTPUT, "output")
    if raw.get("compare") is not None:  # absent stays absent: `train` configs do not grow one
        cfg["compare"] = _resolve_compare(_section(raw, "compare"))
    _check_combinations(cfg, regs)
    _check_validation_data(cfg)
    return _plain(cfg)


def _check_data_columns(data: dict) -> None:
    """The table keys (drop, missing, na_values, categorical, delimiter, standardize_target)."""
    from nnctl.data.columns import check_settings
    from nnctl.data.delimiter import parse_delimiter

    check_settings(data)
    parse_delimiter(data["delimiter"])
    if data["standardize_target"] not in ("auto", True, False):
        raise UsageError(
            f"data.standardize_target: expected auto, true or false, found "
            f"{data['standardize_target']!r}"
        )


def _resolve_compare(given: dict) -> dict:
    """The compare: section with its defaults; each optimizer entry is checked as a spec (and
    kept as written: its label names the runs)."""
    from nnctl.config.optimizer_specs import spec_from_entry

    section = _resolve_fixed(given, COMPARE, "compare")
    optimizers = section["optimizers"]
    if optimizers is not None:
        if not isinstance(optimizers, list) or not optimizers:
            raise UsageError(
                "compare.optimizers: expected a non-empty list of optimizer specs "
                f'("adam", "sgd:lr=0.1" or {{name: sgd, lr: 0.1}}), '
                f"found {optimizers!r}"
            )
        for i, item in enumerate(optimizers):
            spec_from_entry(item, f"compare.optimizers[{i}]")
    return section


def _check_validation_data(cfg: dict) -> None:
    """Rules that need validation rows: early stopping watches a validation value."""
    data = cfg["data"]
    if (
        cfg["train"]["early_stopping"] is not None
        and data["val_fraction"] == 0
        and data["val_path"] is None
    ):
        raise UsageError(
            "train.early_stopping: needs validation data; set data.val_fraction > 0 "
            "or data.val_path"
        )


def _check_combinations(cfg: dict, regs) -> None:
    """Cross-key rules that need no data (those that do are checked when the data is loaded)."""
    from nnctl.nn.kinds import kinds, model_kind, or_list
    from nnctl.optim import is_full_batch

    kind = model_kind(cfg["model"]["kind"])
    _check_model_settings(cfg["model"], kind)
    opt = regs["optimizer"].get(cfg["optimizer"]["name"])
    if opt.name == "exact" and not kind.least_squares:
        solvable = or_list([k.name for k in kinds() if k.least_squares])
        raise UsageError(
            f"optimizer.name: exact (the closed form) applies only to model.kind "
            f"{solvable}, found {kind.name}; use newton, lbfgs, cg, bfgs or a "
            "first-order optimizer"
        )
    if not kind.takes_hidden:  # like model.dropout: a setting that would do nothing is refused
        defaults = {h.name: h.default for h in _model_hypers()}
        for key in ("hidden", "activation"):
            if _plain(cfg["model"][key]) != _plain(defaults[key]):
                users = or_list([k.name for k in kinds() if k.takes_hidden])
                raise UsageError(
                    f"model.{key}: applies to model.kind {users} only, found "
                    f"{kind.name}; remove it (or use model.kind: mlp)"
                )
    if is_full_batch(opt) and cfg["model"]["dropout"] > 0 and kind.takes_dropout:
        raise UsageError(
            f"optimizer.name: {opt.name} minimises the full training objective, which "
            "dropout makes random; set model.dropout: 0 or use a first-order optimizer"
        )
    _check_dense_hessian(cfg["optimizer"], opt, kind)
    es = cfg["train"]["early_stopping"]
    if es is not None and not es["metric"].startswith("val_"):
        raise UsageError(
            f"train.early_stopping.metric: expected val_loss or val_<metric>, "
            f"found {es['metric']!r}"
        )


def _check_model_settings(model: dict, kind) -> None:
    """Settings the kind does not take must be off (they would silently do nothing)."""
    from nnctl.nn.kinds import kinds, or_list

    if model["dropout"] > 0 and not kind.takes_dropout:
        users = or_list([k.name for k in kinds() if k.takes_dropout])
        raise UsageError(
            f"model.dropout: applies to model.kind {users} only, found {kind.name}; set it to 0"
        )
    if model["batch_norm"] and not kind.takes_batch_norm:
        users = or_list([k.name for k in kinds() if k.takes_batch_norm])
        raise UsageError(
            f"model.batch_norm: applies to model.kind {users} only, "
            f"found {kind.name}; set it to false"
        )


def _check_dense_hessian(settings: dict, opt, kind) -> None:
    """An optimizer entry that declares `dense_hessian_when=(key, value)` needs the model's
    dense Hessian when that setting has that value; only some kinds have one."""
    from nnctl.nn.kinds import kinds, or_list

    key, value = opt.info.get("dense_hessian_when", (None, None))
    if key is not None and settings[key] == value and not kind.has_dense_hessian:
        owners = or_list([k.name for k in kinds() if k.has_dense_hessian])
        raise UsageError(
            f"optimizer.{key}: {value} needs a dense Hessian, which model.kind "
            f"{kind.name} does not have (only {owners}); choose another "
            f"optimizer.{key}"
        )


def _plain(value):
    """Tuples to lists, so the resolved config dumps as plain YAML and compares equal on reload."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_config(path: str | os.PathLike, overrides: list[str] | None = None) -> dict:
    """Read, override, validate: the one entry point the commands use."""
    raw = apply_overrides(load_yaml(path), overrides or [])
    try:
        return resolve(raw, str(path))
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def dump_yaml(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None, width=100)


# ----------------------------------------------------------------------------------------------
# Generated documentation


def _hyper_schema(h: Hyper) -> dict:
    types = {
        "float": {"type": "number"},
        "int": {"type": "integer"},
        "bool": {"type": "boolean"},
        "str": {"type": "string"},
        "floats": {"type": "array", "items": {"type": "number"}},
        "ints": {"type": "array", "items": {"type": "integer"}},
        "any": {},
    }
    schema = dict(types[h.kind])
    if h.choices:
        schema["enum"] = list(h.choices)
    if h.nullable and schema:
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema["description"] = h.doc + (f" ({h.expect})" if h.expect else "")
    if h.default is not None:
        schema["default"] = _plain(h.default)
    return schema


def _object(hypers, extra: dict | None = None) -> dict:
    props = {h.name: _hyper_schema(h) for h in hypers}
    props.update(extra or {})
    return {"type": "object", "properties": props, "additionalProperties": False}


def _named_schema(registry: Registry, key: str, extra_hypers=()) -> dict:
    """oneOf over the registry's entries: each fixes `key` and lists its own settings."""
    variants = []
    for entry in registry.entries():
        obj = _object(
            entry.hypers + tuple(extra_hypers),
            {key: {"enum": [entry.name, *entry.aliases], "description": entry.doc}},
        )
        obj["required"] = [key] if key != "scheme" else []
        variants.append(obj)
    names = [n for e in registry.entries() for n in (e.name, *e.aliases)]
    return {"anyOf": [{"type": "string", "enum": names}, {"oneOf": variants}]}


def _data_schema() -> dict:
    """The data section, with the exact shapes of the table keys declared as "any"."""
    names = {"type": "array", "items": {"type": "string"}}
    schema = _object(DATA)
    shapes = {
        "drop": names,
        "na_values": names,
        "categorical": {"anyOf": [{"enum": ["auto", "none"]}, names]},
        "standardize_target": {"anyOf": [{"enum": ["auto"]}, {"type": "boolean"}]},
    }
    for key, shape in shapes.items():
        schema["properties"][key] = {**schema["properties"][key], **shape}
    return schema


def json_schema() -> dict:
    regs = _registries()
    loss_names = ["auto"] + regs["loss"].all_names()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nnctl training config",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "seed": _hyper_schema(SEED),
            "data": _data_schema(),
            "model": _object(_model_hypers()),
            "init": _named_schema(regs["init"], "scheme", INIT),
            "loss": {
                "anyOf": [
                    {"type": "string", "enum": loss_names},
                    _object(LOSS, {"name": {"enum": loss_names}}),
                ]
            },
            "optimizer": _named_schema(regs["optimizer"], "name"),
            "schedule": _named_schema(regs["schedule"], "name"),
            "train": _object(
                TRAIN, {"early_stopping": {"anyOf": [{"type": "null"}, _object(EARLY_STOPPING)]}}
            ),
            "output": _object(OUTPUT),
            "compare": _object(
                COMPARE,
                {
                    "optimizers": {
                        "anyOf": [
                            {"type": "null"},
                            {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "anyOf": [
                                        {"type": "string"},
                                        {"type": "object", "required": ["name"]},
                                    ]
                                },
                            },
                        ],
                        "description": COMPARE[0].doc,
                    }
                },
            ),
        },
    }


def schema_json() -> str:
    return json.dumps(json_schema(), indent=2)


def _default_text(value) -> str:
    if value == "":
        return '""'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_default_text(v) for v in value) + "]"
    return str(value)


def _hyper_rows(hypers, prefix: str) -> list[str]:
    rows = []
    for h in hypers:
        accepted = ", ".join(map(str, h.choices)) if h.choices else h.describe()
        rows.append(f"| `{prefix}{h.name}` | `{_default_text(h.default)}` | {accepted} | {h.doc} |")
    return rows


def reference_markdown() -> str:
    """The config reference (docs/config-reference.md), generated from the declarations."""
    regs = _registries()
    head = ["| key | default | accepts | meaning |", "| --- | --- | --- | --- |"]
    out = [
        "# Config reference",
        "",
        "Generated by `nnctl config reference` from the same declarations that validate configs;",
        "`nnctl config schema` prints the JSON Schema. Sections may be written as a bare name",
        "(`optimizer: adam`, `schedule: cosine`, `loss: mse`, `init: he_normal`).",
        "",
    ]
    out += ["## Top level", "", *head, *_hyper_rows([SEED], ""), ""]
    fixed = (("data", DATA), ("model", _model_hypers()), ("train", TRAIN), ("output", OUTPUT))
    for title, hypers in fixed:
        out += [f"## {title}", "", *head, *_hyper_rows(hypers, f"{title}."), ""]
    out += [
        "### train.early_stopping",
        "",
        *head,
        *_hyper_rows(EARLY_STOPPING, "train.early_stopping."),
        "",
    ]
    out += [
        "## compare",
        "",
        "Defaults of `compare-optimizers` and `sweep`; their options win.",
        "",
        *head,
        *_hyper_rows(COMPARE, "compare."),
        "",
    ]
    out += [
        "## loss",
        "",
        *head,
        "| `loss.name` | `auto` | auto or a loss below | auto: from the model and task |",
        *_hyper_rows(LOSS, "loss."),
        "",
    ]
    out += [
        "## init",
        "",
        *head,
        "| `init.scheme` | `auto` | a scheme below | weight init |",
        *_hyper_rows(INIT, "init."),
        "",
    ]
    sections = (
        ("data.name", "dataset", "data.params."),
        ("model.activation", "activation", "model.activation."),
        ("loss.name", "loss", "loss."),
        ("init.scheme", "init", "init."),
        ("optimizer.name", "optimizer", "optimizer."),
        ("schedule.name", "schedule", "schedule."),
    )
    for key, reg_name, prefix in sections:
        out += [f"## `{key}` choices", ""]
        for entry in regs[reg_name].entries():
            aliases = f" (also: {', '.join(entry.aliases)})" if entry.aliases else ""
            out += [f"### `{entry.name}`{aliases}", "", entry.doc, ""]
            if entry.hypers:
                out += [*head, *_hyper_rows(entry.hypers, prefix), ""]
    return "\n".join(out).rstrip() + "\n"
