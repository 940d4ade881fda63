"""Byte formats, reader and writer side by side; they import nothing of drmodels but errors."""
