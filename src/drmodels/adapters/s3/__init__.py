"""The S3 client drmodels uses for sources and the store, and the one mapping of its errors."""
