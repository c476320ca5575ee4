"""nnctl: train and compare the classic models of a first deep-learning course, in NumPy."""

__version__ = "0.1.0"
# Bumped when the checkpoint layout changes incompatibly; loaders refuse newer ones.
CHECKPOINT_FORMAT = 1
