"""Where jobs run: a detached process each (the CLI), threads (long-lived processes), worker processes."""
