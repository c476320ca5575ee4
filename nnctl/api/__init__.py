"""The work behind the public API (nnctl.train, nnctl.compare_optimizers, ...)."""
