"""scripts/requirements.py: requirements*.txt pinned from pyproject.toml's declarations."""

import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from scripts import requirements


def test_each_declared_package_is_pinned_to_the_installed_version() -> None:
    groups = requirements.declared(
        {
            "project": {"dependencies": ["pytest>=1", "pwdlib[argon2]>=0.1"]},
            "dependency-groups": {"dev": ["hypothesis>=1"]},
        }
    )
    text = requirements.render(groups, ("project", "dev"))
    assert f"pytest=={metadata.version('pytest')}" in text.splitlines()
    assert f"pwdlib[argon2]=={metadata.version('pwdlib')}" in text.splitlines()
    assert f"hypothesis=={metadata.version('hypothesis')}" in text.splitlines()


def test_an_installed_version_outside_the_declared_range_stops_with_its_name() -> None:
    with pytest.raises(SystemExit, match=r"pytest .* is installed but pyproject.toml asks for <1"):
        requirements.pinned(Requirement("pytest<1"))


def test_a_declared_package_that_is_not_installed_stops_with_its_name() -> None:
    with pytest.raises(SystemExit, match="no-such-package-oktopus is declared but not installed"):
        requirements.pinned(Requirement("no-such-package-oktopus>=1"))


def test_the_committed_files_list_every_declared_package() -> None:
    """Whatever the versions, no package is declared without being pinned, or the reverse."""
    with (requirements.ROOT / "pyproject.toml").open("rb") as file:
        groups = requirements.declared(tomllib.load(file))
    for filename, names in requirements.FILES.items():
        lines = (requirements.ROOT / filename).read_text().splitlines()
        pinned = {Requirement(line).name.lower() for line in lines if line and line[0] != "#"}
        wanted = {req.name.lower() for name in names for req in groups[name]}
        assert pinned == wanted, filename
