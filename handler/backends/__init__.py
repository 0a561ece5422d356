"""Inference backends: the only code that talks to GPU services."""
