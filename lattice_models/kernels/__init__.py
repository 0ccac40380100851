"""Numba kernels, one small module per algorithm."""
