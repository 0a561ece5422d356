"""Batch generation: reading Batch JSONL, splitting it into queued lines, running them."""
