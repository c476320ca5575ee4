"""The command line: the Typer apps and the table of commands (app.py), the shared options
(options.py), one module per command group (*_commands.py), how a command runs as a process
(process.py), help layout and help without parsing (help_layout.py, fast_help.py), shell
completion (completion.py). Parses, calls the library, renders (through nnctl.report)."""
