"""runlab command-line interface (Typer)."""
