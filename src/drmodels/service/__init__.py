"""Use cases: check, fix, deep, models, imports, bulk, downloads; each over the ports in deps.py."""
