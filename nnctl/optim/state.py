"""How every optimizer keeps its state: one declared set of fields, one save and one restore.

An optimizer class lists the attributes that make up its state in `STATE`; a subclass adds its
own to those of its bases (the lists are joined base first, as dataclass fields are). A field
set to None is absent with these settings (sgd's `momentum_buffer` when momentum is 0). Where
the saved name cannot be the attribute's (a first-order rule's step count is saved as `step`,
the name of its method), `STORED_AS` maps saved name to attribute.

`state_dict()` returns copies: arrays as they are, ints as 0-d int64, floats as 0-d float64,
bools as 0-d bool. A checkpoint stores them under `optim.<name>`. `load_state_dict` checks the
names, shapes and kinds, then replaces each field with a copy (in the field's own dtype), so a
resumed run continues bit for bit.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError, shown


class OptimizerState:
    """Mixin: `state_dict` / `load_state_dict` over the fields declared in `STATE`."""

    STATE: tuple[str, ...] = ()
    STORED_AS: dict[str, str] = {}
    SIGNED: tuple[str, ...] = ()  # int fields that may be negative (the rest are counts >= 0)

    def _declared_state(self) -> tuple[str, ...]:
        names: list[str] = []
        for cls in reversed(type(self).__mro__):
            names += [n for n in cls.__dict__.get("STATE", ()) if n not in names]
        return tuple(names)

    def _attribute(self, name: str) -> str:
        return self.STORED_AS.get(name, name)

    def state_names(self) -> tuple[str, ...]:
        """The saved names of the fields these settings use, in declaration order."""
        return tuple(
            n for n in self._declared_state() if getattr(self, self._attribute(n)) is not None
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: _saved(getattr(self, self._attribute(name))) for name in self.state_names()}

    def load_state_dict(self, state) -> None:
        expected = self.state_names()
        found = set(state)
        if found != set(expected):
            missing = ", ".join(n for n in expected if n not in found) or "none"
            unknown = ", ".join(sorted(found - set(expected))) or "none"
            raise UsageError(
                f"optimizer state: expected entries {', '.join(expected)} for "
                f"{type(self).__name__} with these settings; missing: {missing}; unknown: "
                f"{unknown} (was the checkpoint written with another optimizer or other settings?)"
            )
        restored = {name: self._checked(name, np.asarray(state[name])) for name in expected}
        for name, value in restored.items():  # all checked first: a bad entry changes nothing
            setattr(self, self._attribute(name), value)

    def _checked(self, name: str, value: np.ndarray):
        """`value` as the field `name` holds it, or a UsageError saying what is wrong."""
        current = getattr(self, self._attribute(name))
        if isinstance(current, np.ndarray):
            if value.shape != current.shape:
                raise UsageError(
                    f"optimizer state: expected {name!r} of shape {current.shape}, "
                    f"found {value.shape} (a checkpoint of another model?)"
                )
            if value.dtype.kind not in "biuf":
                raise UsageError(
                    f"optimizer state: expected {name!r} to hold numbers, found dtype {value.dtype}"
                )
            return value.astype(current.dtype, copy=True)
        if value.shape == (1,):
            value = value.reshape(())  # older checkpoints stored scalars as 1-element arrays
        if value.shape != () or value.dtype.kind not in "biuf":
            raise UsageError(
                f"optimizer state: expected {name!r} to be one number, found {shown(value)}"
            )
        number = value.item()
        if isinstance(current, bool):
            return bool(number)
        if isinstance(current, (int, np.integer)):
            whole = value.dtype.kind in "iu" or float(number).is_integer()
            if not whole or (name not in self.SIGNED and number < 0):
                what = "an integer" if name in self.SIGNED else "a count >= 0"
                raise UsageError(
                    f"optimizer state: expected {name!r} to be {what}, found {shown(value)}"
                )
            return int(number)
        return float(number)


def _saved(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, bool):
        return np.array(value, dtype=np.bool_)
    if isinstance(value, (int, np.integer)):
        return np.array(value, dtype=np.int64)
    return np.array(value, dtype=np.float64)
