"""The use cases, one file per feature."""
