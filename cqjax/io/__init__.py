"""Input and output: TOML configs (schema, overrides, validation), model specs, results files."""

from ._model_spec import resolve_model
from .config import ConfigError, MasterOptions, RunConfig, load_config, parse_config
from .results import load_results, save_master, save_results

__all__ = [
    "ConfigError",
    "MasterOptions",
    "RunConfig",
    "load_config",
    "load_results",
    "parse_config",
    "resolve_model",
    "save_master",
    "save_results",
]
