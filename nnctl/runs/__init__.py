"""Run folders (layout, naming, lock) and checkpoints."""
