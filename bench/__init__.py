"""Benchmarks against a real Temporal dev server (`make bench`)."""
