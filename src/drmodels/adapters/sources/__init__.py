"""Storage adapters behind the Source port."""
