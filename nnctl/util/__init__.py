"""Small helpers every layer may import: atomic writes, regular-file reads, interrupts, lazy exports, random streams, BLAS threads, the task names and the registries."""
