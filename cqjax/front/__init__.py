"""The front door: ``run``, ``master`` and ``compare`` in one call each, results as objects
(``Ensemble``, ``Master``) with ``save``, ``to_xarray`` and ``plot``, and ``load``."""

from ._inputs import Mixture
from .api import compare, master, run
from .results import Ensemble, Master, load

__all__ = ["Ensemble", "Master", "Mixture", "compare", "load", "master", "run"]
