"""Quantum operators: dense (d, d) matrices, diagonals of diagonal models, and Pauli strings on
n qubits applied without 2^n x 2^n matrices. ``pauli()`` is the one Pauli table."""

from ._pauli import PauliString, global_string, local, pauli

__all__ = ["PauliString", "global_string", "local", "pauli"]
