"""The fuzz suite runs on request (`make fuzz`, i.e. `pytest -m fuzz`), not in every `make test`."""

from pathlib import Path

import pytest


def _fuzzing_requested(config: pytest.Config) -> bool:
    expression = (config.getoption("markexpr") or "").replace(" ", "")
    return "fuzz" in expression and "notfuzz" not in expression


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schema fuzzing with schemathesis (make fuzz)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not even import the fuzz module (it starts apps at import) unless fuzzing was asked."""
    if collection_path.name.startswith("test_") and not _fuzzing_requested(config):
        return True
    return None
