from nnctl.cli.app import run

run()
