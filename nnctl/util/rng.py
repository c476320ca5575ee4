"""One seed, independent random streams.

`numpy.random.SeedSequence(seed).spawn` gives statistically independent children; each purpose
gets its own child, always in the same order, so e.g. changing the batch size (which changes how
many numbers the shuffle stream draws) never changes the init, the split or the dropout masks.
"""

from __future__ import annotations

import numpy as np

# The order is part of the reproducibility contract: append new streams, never reorder.
STREAMS = ("init", "split", "shuffle", "dropout", "data")


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {
        name: np.random.Generator(np.random.PCG64(child)) for name, child in zip(STREAMS, children)
    }


def get_states(streams: dict[str, np.random.Generator]) -> dict:
    """JSON-serialisable states of every stream (for checkpoints)."""
    return {name: gen.bit_generator.state for name, gen in streams.items()}


def set_states(streams: dict[str, np.random.Generator], states: dict) -> None:
    for name, state in states.items():
        if name in streams:
            streams[name].bit_generator.state = state
