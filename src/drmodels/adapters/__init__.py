"""Adapters: the sources we read, our model store, the S3 client; the ports they implement (ports.py)."""
