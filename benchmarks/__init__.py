"""Experiments and benchmark data of the repository, run from its root (``python -m benchmarks.tinynas_evidence``);
not part of the installed packages."""
