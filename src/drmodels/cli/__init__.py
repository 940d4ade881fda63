"""The command line: Typer commands, one module each (app.py assembles them)."""
