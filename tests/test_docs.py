"""The documentation site: it builds with warnings as errors, the pages generated from the code say
what the code does, nothing public is left undocumented, and the getting-started page runs as
written."""

from __future__ import annotations

import ast
import dataclasses
import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
FIGURE = re.compile(r"<!--\s*figure:\s*([\w-]+)")


def blocks(page: str, lang: str) -> list[str]:
    """The fenced code blocks of ``lang`` in a docs page."""
    return re.findall(rf"^```{lang}\n(.*?)^```", (DOCS / page).read_text(), re.S | re.M)


def public_names() -> list[str]:
    """``cqjax.__all__``, read without importing the package."""
    tree = ast.parse((ROOT / "cqjax" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("cqjax/__init__.py has no __all__")


def pages() -> dict[str, str]:
    return {str(p.relative_to(DOCS)): p.read_text() for p in DOCS.rglob("*.md")}


# --- what the pages must cover (no build needed) ----------------------------------------------


def test_api_page_documents_every_public_name():
    # ::: cqjax.NAME, or the full path where a submodule shadows the name (cqjax.ensemble.simulate.simulate)
    documented = re.findall(r"^::: cqjax\.(?:[\w.]+\.)?(\w+)\s*$", (DOCS / "api.md").read_text(), re.M)
    names = public_names()
    assert sorted(set(names) - set(documented)) == [], "public names missing from docs/api.md"
    assert sorted(set(documented) - set(names)) == [], "docs/api.md documents names that are not public"
    assert len(documented) == len(set(documented)), "a name is documented twice"


def test_every_model_has_a_page_in_the_navigation():
    from cqjax.models import MODELS

    nav = (ROOT / "mkdocs.yml").read_text()
    for name in MODELS:
        page = DOCS / "models" / f"{name}.md"
        assert page.exists(), f"no docs page for the model {name!r}"
        assert f"<!-- model-table: {name} -->" in page.read_text()
        assert f"models/{name}.md" in nav


def test_every_config_is_named_in_the_docs():
    text = "\n".join(pages().values())
    missing = [p.name for p in sorted((ROOT / "configs").glob("*.toml")) if f"configs/{p.name}" not in text]
    assert missing == [], "configs not mentioned on any docs page"


def test_config_page_names_every_config_key():
    import dataclasses as dc

    from cqjax.io.config import _SCHEMA, _TOP, MasterOptions

    text = (DOCS / "configs.md").read_text()
    keys = [k for section in _SCHEMA.values() for k in section] + [f.name for f in dc.fields(MasterOptions)]
    missing = [k for k in keys if f"`{k}`" not in text and k != "extent"]
    missing += [s for s in _TOP if f"`{s}`" not in text and f"`[{s}]`" not in text and f"[{s}]" not in text]
    assert missing == [], "config keys missing from docs/configs.md"


def test_architecture_page_states_the_imports_between_layers():
    table = re.findall(r"^\| (\w+) \| ([^|]+) \|$", (DOCS / "architecture.md").read_text(), re.M)
    stated = {layer: set(re.findall(r"\w+", deps)) - {"none"} for layer, deps in table if layer != "layer"}
    layers = sorted(p.name for p in (ROOT / "cqjax").iterdir() if (p / "__init__.py").exists())
    assert sorted(set(stated) - {"cli"}) == layers
    for layer in layers:
        code = "\n".join(p.read_text() for p in (ROOT / "cqjax" / layer).rglob("*.py"))
        imported = set(re.findall(r"^\s*from \.\.(\w+)", code, re.M)) & set(layers)
        assert imported == stated[layer], f"cqjax/{layer} imports {sorted(imported)}; the page: {sorted(stated[layer])}"


def test_figures_on_the_pages_are_figures_the_scripts_make():
    scripts = (ROOT / "scripts" / "paper_figures" / "__init__.py").read_text()  # the figure registry
    for page, text in pages().items():
        for stem in FIGURE.findall(text):
            made = f'"{stem}"' in scripts or (ROOT / "scripts" / f"{stem}.py").exists()
            assert made, f"{page}: figure {stem!r} is made by no script in scripts/"


def test_docs_do_not_cite_files_outside_the_repository():
    for path in [*ROOT.glob("cqjax/**/*.py"), *DOCS.rglob("*.md"), ROOT / "README.md"]:
        text = path.read_text()
        assert "PHYSICS.md" not in text and "../shared" not in text, path


def test_docstrings_cite_docs_pages_and_sections_that_exist():
    cited = 0
    for path in ROOT.glob("cqjax/**/*.py"):
        text = " ".join(path.read_text().split())
        for page, sections in re.findall(r'docs/([\w/.-]+\.md)((?:,| and) "[^"]+"(?: and "[^"]+")*)?', text):
            cited += 1
            assert (DOCS / page).exists(), f"{path}: cites docs/{page}, which does not exist"
            headings = re.findall(r"^#+ (.+)$", (DOCS / page).read_text(), re.M)
            for section in re.findall(r'"([^"]+)"', sections):
                assert section in headings, f"{path}: docs/{page} has no section {section!r}"
    assert cited, "no docstring points to the documentation"


# --- the site -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: `make install` installs the docs extra (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**ENV, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-4000:]}"
    return out


def page_text(site: Path, page: str) -> str:
    """A built page's text: tags dropped, entities decoded, whitespace collapsed."""
    raw = (site / page / "index.html").read_text()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def test_site_builds_strict_with_every_page(site):
    for md in DOCS.rglob("*.md"):
        rel = md.relative_to(DOCS).with_suffix("")
        folder = rel.parent if rel.name == "index" else rel
        assert (site / folder / "index.html").exists(), f"{md} was not built"
    assert not list(site.rglob("*.py")), "the docs hook was copied into the site"


def test_cli_reference_lists_every_subcommand_and_option(site):
    import argparse

    from cqjax.cli import _parser

    text = page_text(site, "cli")
    parser = _parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert subs
    for name, sub in subs.items():
        assert f"cqjax {name}" in text
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # -h/--help: named once at the top of the page
            for flag in action.option_strings:
                assert flag in text, f"cqjax {name} {flag} is not on the CLI page"
            if not action.option_strings:
                assert (action.metavar or action.dest) in text
            if action.help and "%" not in action.help:
                assert " ".join(action.help.split()[:4]) in text, action.help


def test_model_pages_show_each_models_parameters_and_coordinates(site):
    from cqjax.models import MODELS

    for name, cls in MODELS.items():
        text = page_text(site, f"models/{name}")
        model = cls()
        for f in dataclasses.fields(cls):
            assert f"{f.name} = " in text, f"{name}: parameter {f.name} missing"
        for coord in model.coords:
            assert coord in text, f"{name}: coordinate {coord} missing"


def test_api_reference_renders_every_public_name_once(site):
    import cqjax

    raw = (site / "api" / "index.html").read_text()
    headings = re.findall(r'<h\d id="(cqjax\.[\w.]+)"', raw)
    assert len(headings) == len(set(headings)), "an object is documented twice"
    names = set(public_names())
    for h in headings:  # a public name documented as the member of another: a module documented in its place
        parts = h.split(".")[1:]
        owner_is_class = len(parts) == 2 and isinstance(getattr(cqjax, parts[0], None), type)  # a method
        assert not (len(parts) == 2 and parts[0] in names and parts[1] in names and not owner_is_class), h
    for name in public_names():
        assert re.search(rf'id="cqjax\.([\w.]+\.)?{name}"', raw), f"cqjax.{name} has no entry in the API reference"


# --- the getting-started page runs as written ---------------------------------------------------


@pytest.mark.slow
def test_getting_started_python_runs_as_written(tmp_path):
    """Every Python block of the getting-started page (in order, one session) and of the models
    page (its own session); the blocks assert their own results against exact values."""
    sessions = {page: "\n".join(blocks(page, "python")) for page in ("getting-started.md", "models/index.md")}
    assert all(sessions.values())
    driver = "\n".join(
        f"exec(compile({code!r}, {page!r}, 'exec'), {{'__name__': '__main__'}})" for page, code in sessions.items()
    )
    run = subprocess.run(
        [sys.executable, "-c", driver], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-4000:]


@pytest.mark.slow
def test_getting_started_commands_run_as_written(tmp_path):
    """Every `cqjax ...` line of the page's bash blocks, in order, from a folder holding the configs
    (one process: the commands share compiled kernels); each must exit 0."""
    lines = [ln for b in blocks("getting-started.md", "bash") for ln in b.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("cqjax ") for ln in lines), "a bash block holds something the test cannot run"
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    driver = textwrap.dedent(
        f"""
        import shlex
        from cqjax.cli import main
        for line in {lines!r}:
            rc = main(shlex.split(line)[1:])
            assert rc == 0, f"{{line}}: exit status {{rc}}"
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", driver], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert (tmp_path / "results.npz").exists()
    assert list((tmp_path / "results_plots").glob("*.png"))
    assert (tmp_path / "compare" / "compare.png").exists()
