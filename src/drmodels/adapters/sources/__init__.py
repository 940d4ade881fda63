"""The sources we read a model from, behind the Source port: a folder, a .tar.gz, an S3 prefix."""
