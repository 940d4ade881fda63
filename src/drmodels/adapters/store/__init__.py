"""Our model store: where imported models live (a local folder or an S3 bucket)."""
