"""Quantum operators, the representation as a type (``AbstractOperator``): dense (d, d) matrices
(``DenseOperator``), diagonals of diagonal models (``DiagonalOperator``), and Pauli strings on n
qubits applied without 2^n x 2^n matrices (``PauliString``). ``pauli()`` is the one Pauli table."""

from ._operator import AbstractMatrixOperator, AbstractOperator, DenseOperator, DiagonalOperator
from ._pauli import PauliString, global_string, local, pauli

__all__ = [
    "AbstractMatrixOperator",
    "AbstractOperator",
    "DenseOperator",
    "DiagonalOperator",
    "PauliString",
    "global_string",
    "local",
    "pauli",
]
