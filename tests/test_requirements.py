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


def test_the_check_reads_the_files_and_refuses_a_pin_outside_its_range(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """--check needs no installed package (CI runs it before make e2e installs selenium)."""
    (tmp_path / "requirements.txt").write_text("# pins\nno-such-package-oktopus==2.0\n")
    (tmp_path / "requirements-e2e.txt").write_text("")
    monkeypatch.setattr(requirements, "ROOT", tmp_path)
    monkeypatch.setattr(requirements, "FILES", {"requirements.txt": ("project",)})
    fine = requirements.declared(
        {"project": {"dependencies": ["no-such-package-oktopus>=1"]}, "dependency-groups": {}}
    )
    assert requirements.check(fine) == []
    narrow = requirements.declared(
        {"project": {"dependencies": ["no-such-package-oktopus<2"]}, "dependency-groups": {}}
    )
    assert "not one version within <2" in requirements.check(narrow)[0]
