"""`python -m drmodels`: the CLI (the detached runner starts jobs this way)."""

from drmodels.cli.app import app

app()
