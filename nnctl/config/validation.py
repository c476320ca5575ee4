"""Validation: `resolve` fills every default of a raw config and checks every range and
cross-key rule that needs no data; `load_config` reads, overrides and resolves."""

from __future__ import annotations

import os
from typing import Any

from nnctl.config.overrides import NAME_KEY, apply_overrides, expand_shorthand
from nnctl.config.sections import (
    INIT,
    LOSS,
    SECTIONS,
    SEED,
    fixed_sections,
    model_hypers,
    registries,
)
from nnctl.config.yaml_io import load_yaml, plain
from nnctl.errors import UsageError
from nnctl.util.registry import Registry, check_keys


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


def resolve(raw: dict, source: str = "config", *, check_extras: bool = True) -> dict:
    """Validate a raw config (after overrides) and return it with every default filled in.

    Raises UsageError naming the key path. The result contains only plain YAML types.
    `check_extras`: refuse settings whose optional extra is not installed (logging.tensorboard
    without tensorboardX, train.kernels: numba without numba), so a run never fails half-way for
    it; False where a saved config is read only to rebuild its model (eval, predict, export),
    which needs no extra: a run trained with numba is used where numba is not installed.
    """
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: expected a mapping of sections, found {type(raw).__name__}")
    raw = expand_shorthand(raw)
    check_keys(raw, SECTIONS, "")
    regs = registries()
    cfg: dict[str, Any] = {}
    cfg["seed"] = SEED.convert(raw["seed"], "seed") if "seed" in raw else SEED.default
    # Every fixed section's keys, from the one list; the rules across keys follow.
    for section in fixed_sections():
        if section.optional and raw.get(section.name) is None:
            continue
        resolved = _resolve_fixed(_section(raw, section.name), section.hypers, section.name)
        for key, hypers in section.nested:
            resolved[key] = _resolve_nested(resolved[key], hypers, f"{section.name}.{key}")
        cfg[section.name] = resolved
    _check_data(cfg["data"], regs)
    _check_model(cfg["model"], regs)
    cfg["init"], cfg["loss"] = _resolve_init(raw, regs), _resolve_loss(raw, regs)
    cfg["optimizer"] = _resolve_named(
        _section(raw, "optimizer"), regs["optimizer"], "optimizer", "name", "adam"
    )
    cfg["schedule"] = _resolve_named(
        _section(raw, "schedule"), regs["schedule"], "schedule", "name", "constant"
    )
    _check_train(cfg["train"])
    if "compare" in cfg:
        _check_compare_optimizers(cfg["compare"]["optimizers"])
        _check_seed_count(cfg["compare"]["seeds"], "compare.seeds")
    _check_combinations(cfg, regs)
    _check_validation_data(cfg)
    if check_extras:
        _check_extras(cfg)
    return plain({name: cfg[name] for name in SECTIONS if name in cfg})


def _check_data(data: dict, regs) -> None:
    """One data source; a built-in dataset's params; the table keys."""
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


# Bounds of the model's shape, checked before the size estimate (training/size_estimate.py)
# weighs the model against memory: far beyond a model this trainer can train, so the estimate
# and its message deal in sane numbers.
MAX_HIDDEN_UNITS = 1_000_000
MAX_HIDDEN_LAYERS = 1000


def _check_model(model: dict, regs) -> None:
    """The activation, checked against its registry entry."""
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
    for i, width in enumerate(model["hidden"]):
        if width > MAX_HIDDEN_UNITS:
            raise UsageError(
                f"model.hidden[{i}]: at most {MAX_HIDDEN_UNITS} units per layer, found {width}"
            )
    if len(model["hidden"]) > MAX_HIDDEN_LAYERS:
        raise UsageError(
            f"model.hidden: at most {MAX_HIDDEN_LAYERS} hidden layers, found {len(model['hidden'])}"
        )


def _resolve_init(raw: dict, regs) -> dict:
    init_raw = _section(raw, "init")
    init_fixed = {k: v for k, v in init_raw.items() if k == "bias"}
    init_named = {k: v for k, v in init_raw.items() if k != "bias"}
    return {
        **_resolve_named(init_named, regs["init"], "init", "scheme", "auto"),
        **_resolve_fixed(init_fixed, INIT, "init"),
    }


def _resolve_loss(raw: dict, regs) -> dict:
    loss_raw = dict(_section(raw, "loss"))
    loss_name = loss_raw.pop("name", "auto")
    return {
        "name": loss_name if loss_name == "auto" else regs["loss"].get(loss_name, "loss.name").name,
        **_resolve_fixed(loss_raw, LOSS, "loss"),
    }


def _resolve_nested(given, hypers, where: str) -> dict | None:
    """A key that holds null (off) or a mapping of its own settings; true: their defaults."""
    if given is None:
        return None
    if given is True:
        given = {}
    if not isinstance(given, dict):
        names = ", ".join(h.name for h in hypers)
        raise UsageError(f"{where}: expected null or a mapping {{{names}}}, found {given!r}")
    return _resolve_fixed(given, hypers, where)


def _check_train(train: dict) -> None:
    """The thread count: auto or a number. The trainer resolves auto from the data's shape
    (nnctl.util.threads) and records the number in the run's config.yaml. The kernels: one of
    the choices (numba needs its extra: _check_extras; auto is resolved and recorded too)."""
    from nnctl.kernels.choice import check_kernels
    from nnctl.util.threads import check_threads

    check_threads(train["threads"], "train.threads")
    check_kernels(train["kernels"], "train.kernels", need_installed=False)


def _check_extras(cfg: dict) -> None:
    """Settings that need an optional extra: refused here, before any run starts."""
    from nnctl.kernels.choice import check_kernels

    check_kernels(cfg["train"]["kernels"], "train.kernels")  # numba: the fast extra
    if cfg["logging"]["tensorboard"]:
        try:
            import tensorboardX  # noqa: F401  (the run imports it anyway)
        except ImportError:
            raise UsageError(
                "logging.tensorboard: TensorBoard logging needs tensorboardX, the optional "
                'extra: pip install "nnctl[tensorboard]"'
            ) from None
    from nnctl.data.format_registry import format_for

    data = cfg["data"]
    for key in ("path", "val_path"):
        if data[key] is None or str(data[key]) == "-":
            continue  # standard input: only its content tells its format
        fmt = format_for(data[key], data["format"])  # by data.format, the name or the folder
        if fmt is not None:
            fmt.check_available(f"data.{key}")


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


# Runs per optimizer of a comparison or sweep (compare.seeds, --seeds): far above what a
# comparison on one machine or a course's cluster runs, low enough that a slip (an extra zero
# or three) is refused at once rather than after minutes of writing plan.json.
MAX_SEEDS = 1000


def _check_seed_count(n: int, where: str) -> None:
    if n > MAX_SEEDS:
        raise UsageError(f"{where}: at most {MAX_SEEDS} seeds (runs per optimizer), found {n}")


def _check_compare_optimizers(optimizers) -> None:
    """compare.optimizers: each entry is checked as a spec (and kept as written: its label
    names the runs)."""
    from nnctl.config.optimizer_specs import spec_from_entry

    if optimizers is not None:
        if not isinstance(optimizers, list) or not optimizers:
            raise UsageError(
                "compare.optimizers: expected a non-empty list of optimizer specs "
                f'("adam", "sgd:lr=0.1" or {{name: sgd, lr: 0.1}}), '
                f"found {optimizers!r}"
            )
        for i, item in enumerate(optimizers):
            spec_from_entry(item, f"compare.optimizers[{i}]")


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
    if opt.info.get("least_squares_only") and not kind.least_squares:
        solvable = or_list([k.name for k in kinds() if k.least_squares])
        iterative = [
            e.name
            for e in regs["optimizer"].entries()
            if is_full_batch(e) and not e.info.get("least_squares_only")
        ]
        raise UsageError(
            f"optimizer.name: {opt.name} (the closed form) applies only to model.kind "
            f"{solvable}, found {kind.name}; use {', '.join(iterative)} or a "
            "first-order optimizer"
        )
    if not kind.takes_hidden:  # like model.dropout: a setting that would do nothing is refused
        defaults = {h.name: h.default for h in model_hypers()}
        for key in ("hidden", "activation"):
            if plain(cfg["model"][key]) != plain(defaults[key]):
                users = [k.name for k in kinds() if k.takes_hidden]
                raise UsageError(
                    f"model.{key}: applies to model.kind {or_list(users)} only, found "
                    f"{kind.name}; remove it (or use model.kind: {users[0]})"
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


def load_config(path: str | os.PathLike, overrides: list[str] | None = None) -> dict:
    """Read, override, validate: the one entry point the commands use."""
    raw = apply_overrides(load_yaml(path), overrides or [])
    try:
        return resolve(raw, str(path))
    except UsageError as exc:
        blamed = _blamed_override(str(exc), overrides or [])
        raise UsageError(blamed or f"{path}: {exc}") from None


def _blamed_override(message: str, overrides: list[str]) -> str | None:
    """The message said of the override that set the key it names ("-s optimizer.lr=fast:
    expected a number > 0, found 'fast'"), or None when no override set that key: a value
    typed on the command line is not the config file's fault."""
    key, sep, rest = message.partition(": ")
    if not sep or " " in key:
        return None
    for text in reversed(overrides):  # the last one that set a key is the one in effect
        set_key = text.partition("=")[0].strip()
        if set_key in NAME_KEY and key == f"{set_key}.{NAME_KEY[set_key]}":
            set_key = key  # -s optimizer=adamx sets optimizer.name
        if key == set_key or key.startswith(f"{set_key}."):
            return f"-s {text}: {rest}"
    return None
