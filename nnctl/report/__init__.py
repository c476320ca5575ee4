"""Everything a person sees: progress and tables on stderr (Rich on a terminal, plain lines
elsewhere), plots. Called from the top (cli, compare) only."""
