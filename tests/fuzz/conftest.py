"""The fuzz suite runs on request (`make fuzz`, i.e. `pytest -m fuzz`), not in every `make test`."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schema fuzzing with schemathesis (make fuzz)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave fuzz tests out unless the run asked for them by marker."""
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="schema fuzzing runs with `make fuzz` (pytest -m fuzz)")
    for item in items:
        if item.get_closest_marker("fuzz"):
            item.add_marker(skip)


def pytest_ignore_collect(collection_path, config: pytest.Config) -> bool | None:
    """Do not even import the fuzz module (it starts apps at import) unless fuzzing was asked."""
    if collection_path.name.startswith("test_") and "fuzz" not in (
        config.getoption("markexpr") or ""
    ):
        return True
    return None
