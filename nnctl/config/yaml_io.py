"""Reading configs as YAML, bounded (size, nesting, alias expansion, duplicate keys, safe tags
only), from a file, standard input or a `-s` value; and writing a resolved config back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from nnctl.errors import UsageError
from nnctl.util.input_files import stat_regular_file

MAX_CONFIG_BYTES = 1_000_000  # a config is a few hundred bytes; refuse what cannot be one
MAX_YAML_NODES = 100_000  # bounds YAML alias ("billion laughs") expansion
MAX_YAML_DEPTH = 100  # a config nests 3 levels: room to spare, and far from recursion limits


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


def dump_yaml(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None, width=100)


def plain(value):
    """Tuples to lists, so the resolved config dumps as plain YAML and compares equal on reload."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
