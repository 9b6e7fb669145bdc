"""Oktopus: split a paid-media budget among campaigns, timestep by timestep."""

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "oktopus"


def _version() -> str:
    """pyproject.toml's version: from the installed package's metadata, or, when running from
    the source tree without installing it (the tests, `make run`), from pyproject.toml itself."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])


__version__ = _version()
