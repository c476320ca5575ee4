from nnctl.cli import app

app(prog_name="nnctl")
