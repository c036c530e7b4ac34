"""The runtime type checker of the test suite (conftest.py installs it with jaxtyping's import hook).

beartype, with PEP 484's numeric tower (an int where ``float`` is annotated), on every function of
the engine's layers, except the ``__init__`` of a module (a dataclass): a module validates its own
fields in ``__check_init__``, with the one-line errors the tests expect, and the shapes of its
arrays are checked where the engine uses them.

Reading its errors: beartype checks one randomly chosen item of a container (``tuple[str, ...]``,
``dict[str, X]``), and when jaxtyping's second look at the arguments misses the bad item it calls
the function and reports the failure as one of the return value. So "Type-check error whilst
checking the return value of solve_master ... Expected type: MasterResult" for a MasterResult
meant a bad argument (an ``Observable`` in ``observables`` annotated ``tuple[str, ...]``, since
fixed); the chained beartype error names it.
"""

import beartype

_BEARTYPE = beartype.beartype(conf=beartype.BeartypeConf(is_pep484_tower=True))

# Modules of the hooked layers whose functions are not checked, with the reason.
UNCHECKED: set[str] = set()


def check(fn):
    if getattr(fn, "__name__", None) == "__init__" or getattr(fn, "__module__", None) in UNCHECKED:
        return fn
    return _BEARTYPE(fn)
