from nnctl.cli import run

run()
