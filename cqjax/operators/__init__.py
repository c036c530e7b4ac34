"""Quantum operators for models and observables (public: ``cqjax.operators``).

- ``sigmax()``, ``sigmay()``, ``sigmaz()``, ``identity(d)``, ``basis(d, k)``, ``tensor(*ops)``,
  ``dag(op)``: dense operators and state vectors (JAX arrays);
- ``pauli()``: the one Pauli table {"sx", "sy", "sz"} a qubit model returns from ``operators()``;
- ``pauli_string("XZI")`` / ``PauliString``: Pauli strings on n qubits applied without 2^n x 2^n
  matrices; ``local(n, site, "Z")`` and ``global_string(n, "X")`` build the common ones.

The engine's representation of an operator is a type (``AbstractOperator``): dense (d, d) matrices
(``DenseOperator``), diagonals of diagonal models (``DiagonalOperator``) and ``PauliString``; the
solvers call their methods. ``_ops.py`` keeps the array helpers the master equation shares.
"""

from ._build import basis, dag, identity, pauli_string, sigmax, sigmay, sigmaz, tensor
from ._operator import AbstractMatrixOperator, AbstractOperator, DenseOperator, DiagonalOperator
from ._pauli import PauliString, global_string, local, pauli

__all__ = [
    "AbstractMatrixOperator",
    "AbstractOperator",
    "DenseOperator",
    "DiagonalOperator",
    "PauliString",
    "basis",
    "dag",
    "global_string",
    "identity",
    "local",
    "pauli",
    "pauli_string",
    "sigmax",
    "sigmay",
    "sigmaz",
    "tensor",
]
