"""Parallel Run Studio's stand-in for the package Azure ML puts on a ParallelRunStep worker."""
