"""Exact theory: closed forms, transfer matrices and brute force on tiny lattices."""
