"""The command line: the Typer app and its options (app.py), help without parsing (fast_help.py),
shell completion (completion.py). Parses, calls the library, renders."""
