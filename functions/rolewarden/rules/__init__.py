"""Detectors: pure functions from an inventory snapshot to evaluations (see registry.py)."""
