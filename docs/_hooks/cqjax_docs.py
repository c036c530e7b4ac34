"""MkDocs hook: the parts of the site generated from the code, so that they cannot drift from it.

Markers in the Markdown pages, replaced at build time:

- ``<!-- cli-reference -->``: every ``cqjax`` subcommand with its usage, arguments, defaults and
  help, read from the argparse parser of ``cqjax.cli``;
- ``<!-- model-table: NAME -->``: the registered model NAME's class, coordinates, parameters
  (with defaults), named operators and named initial states, read from the model itself;
- ``<!-- figure: STEM | CAPTION -->``: ``figures/STEM.png`` when the checkout has it (``make
  figures`` writes the figures; only a few are committed), else a note saying how to make it.

The figures present in ``figures/`` are copied into the site under ``figures/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "figures"
MARKER = re.compile(r"<!--\s*(cli-reference|model-table|figure)\s*(?::\s*(.*?))?\s*-->")


def _cqjax():
    """Import the package of this checkout (not an installed copy elsewhere)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import cqjax

    if Path(cqjax.__file__).resolve().parents[1] != ROOT:
        raise RuntimeError(f"docs hook: imported cqjax from {cqjax.__file__}, not from {ROOT}; set PYTHONPATH={ROOT}")
    return cqjax


def on_files(files: Files, config) -> Files:
    for png in sorted(FIGURES.glob("*.png")):
        files.append(File.generated(config, f"figures/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    depth = page.file.src_uri.count("/")

    def replace(match: re.Match) -> str:
        kind, arg = match.group(1), (match.group(2) or "").strip()
        if kind == "cli-reference":
            return cli_reference()
        if kind == "model-table":
            return model_table(arg)
        return figure(arg, "../" * depth)

    return MARKER.sub(replace, markdown)


# --- the command line -------------------------------------------------------------------------


def cli_reference() -> str:
    _cqjax()
    from cqjax.cli import _parser

    parser = _parser()
    out = [f"```text\n{_usage(parser)}\n```", "", parser.description or ""]
    out += _arguments_table(parser)
    for name, sub in _subcommands(parser).items():
        out += ["", f"## `cqjax {name}`", "", _help_of(parser, name), ""]
        if sub.description:
            out += [sub.description, ""]
        out += [f"```text\n{_usage(sub)}\n```"]
        out += _arguments_table(sub)
    return "\n".join(out)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=100)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return _sentence(choice.help or "")
    return ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") or not text else ".")


def _arguments_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        if action.option_strings:
            flags = ", ".join(f"`{s}`" for s in action.option_strings)
            if action.nargs != 0:
                metavar = action.metavar or action.dest.upper()
                flags += f" `{metavar}`"
        else:
            flags = f"`{action.metavar or action.dest}`"
            if action.nargs in ("+", "*"):
                flags += " (one or more)"
        help_text = (action.help or "") % {"default": action.default, "prog": parser.prog}
        if action.choices is not None:
            help_text += f" (one of: {', '.join(map(str, action.choices))})"
        help_text = help_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        rows.append(f"| {flags} | {help_text} |")
    if not rows:
        return []
    return ["", "| argument | meaning |", "|---|---|", *rows]


# --- models -----------------------------------------------------------------------------------


def model_table(name: str) -> str:
    cqjax = _cqjax()
    from cqjax.models import MODELS

    if name not in MODELS:
        raise KeyError(f"docs hook: model-table: {name!r} is not a registered model; have {sorted(MODELS)}")
    cls = MODELS[name]
    model = cls()
    params = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else "(required)"
        static = " (static integer: a new compiled program per value)" if f.metadata.get("static") else ""
        params.append(f"`{f.name}` = {default}{static}")
    ops = list(model.operators())
    states = list(model.named_states()) if hasattr(model, "named_states") else []
    d = _dimension(model)
    if d == 2:
        states += ["zero", "one", "plus", "minus"]
    public = f"cqjax.{cls.__name__}" if cls.__name__ in cqjax.__all__ else f"{cls.__module__}.{cls.__name__}"
    rows = [
        ("config name", f'`model = "{name}"`'),
        ("class", f"[`{public}`][{public}]" if cls.__name__ in cqjax.__all__ else f"`{public}`"),
        ("kind", ", ".join(f"`{b.__name__}`" for b in _kinds(cls))),
        ("coordinates z", ", ".join(f"`{c}`" for c in model.coords) + " (positions, then momenta)"),
        ("Hilbert space", f"d = {d}" + (" (with the default sizes)" if _has_static(cls) else "")),
        ("parameters (defaults; pytree leaves unless static)", "<br>".join(params)),
        ("operators (for observables)", _short_list(ops)),
        ("named initial states (`initial.psi`)", _short_list(states)),
    ]
    lines = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    return "\n".join(lines)


def _kinds(cls) -> list[type]:
    kinds = [b for b in cls.__mro__[1:] if b.__name__.startswith("Abstract") and b.__module__.startswith("cqjax")]
    specific = [b for b in kinds if b.__name__ != "AbstractModel"]
    return specific or kinds


def _dimension(model) -> int:
    import jax.numpy as jnp

    z = jnp.zeros(model.n_coords) + 0.5  # a point inside every shipped model's domain (sqrt_well: q > 0)
    if hasattr(model, "energies"):
        return int(model.energies(z).shape[-1])
    return int(model.hamiltonian(z).shape[-1])


def _has_static(cls) -> bool:
    return any(f.metadata.get("static") for f in dataclasses.fields(cls))


def _short_list(names: list[str], limit: int = 12) -> str:
    if not names:
        return "none"
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --- figures ----------------------------------------------------------------------------------


def figure(arg: str, up: str) -> str:
    stem, _, caption = (part.strip() for part in arg.partition("|"))
    if (FIGURES / f"{stem}.png").exists():
        return f"![{caption}]({up}figures/{stem}.png)\n\n*{caption}*"
    return (
        f'!!! note "Figure `{stem}`"\n'
        f"    {caption}. Not in this checkout: `make figures` writes `figures/{stem}.png`,"
        " and the next `make docs` shows it here."
    )
