"""Benchmarks: each module a script (``.venv/bin/python bench/<name>.py``)."""
