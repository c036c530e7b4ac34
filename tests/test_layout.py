"""The code's layout rules, read from the source with ``ast`` (no import, no JAX): every function of
the package short enough to read at once, and test files that share code only through helpers.py,
inference_cases.py and conftest.py's fixtures, not by importing each other."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80  # statements of a function, its docstring not counted
SHARED = {"helpers", "inference_cases", "conftest", "cqjax_typecheck"}  # what tests may import from tests/


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _code_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the function."""
    body = fn.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    first = body[1] if has_doc and len(body) > 1 else body[0]
    return fn.end_lineno - first.lineno + 1


def test_no_function_is_longer_than_80_lines():
    long = [
        f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name} ({n} lines)"
        for path in sorted((ROOT / "cqjax").rglob("*.py"))
        for fn in _functions(ast.parse(path.read_text(), str(path)))
        if (n := _code_lines(fn)) > MAX_LINES
    ]
    assert not long, "split these functions (at most 80 lines each):\n" + "\n".join(long)


def test_the_rule_counts_what_it_should():
    src = 'def f():\n    """doc\n    more doc"""\n' + "    x = 1\n" * 81 + "\ndef g():\n    return 1\n"
    lengths = {fn.name: _code_lines(fn) for fn in _functions(ast.parse(src))}
    assert lengths == {"f": 81, "g": 1}


def _imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_tests_do_not_import_each_other():
    local = {path.stem for path in (ROOT / "tests").glob("*.py")}
    wrong = {
        path.name: sorted(names)
        for path in sorted((ROOT / "tests").glob("*.py"))
        if (names := (_imported_modules(ast.parse(path.read_text())) & local) - SHARED)
    }
    assert not wrong, f"tests import other test files (share through helpers.py or conftest.py): {wrong}"
