"""Pure rules: what the spec says a model is. No I/O here."""
