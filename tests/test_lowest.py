"""The lower bounds of pyproject.toml are the versions `make lowest` tests (requirements-lowest.txt)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def release(version: str) -> tuple[int, ...]:
    numbers = [int(part) for part in version.split(".")]
    return tuple(numbers + [0] * (3 - len(numbers)))


def requirements() -> list[str]:
    """pyproject.toml's dependencies and its optional ones (numba, for reglab[fast])."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + [r for extra in project.get("optional-dependencies", {}).values() for r in extra]


def test_every_dependency_is_tested_at_its_lower_bound():
    dependencies = requirements()
    lowest = pins(ROOT / "requirements-lowest.txt")
    for requirement in dependencies:
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)$", requirement.strip())
        assert match, f"{requirement!r}: reglab states lower bounds only, as name>=version"
        name, bound = match.group(1).lower().replace("_", "-"), match.group(2)
        assert name in lowest, f"{name} is not installed by requirements-lowest.txt"
        assert release(lowest[name]) == release(bound), f"{name}: tested at {lowest[name]}, bound {bound}"


def test_the_pinned_environment_satisfies_the_bounds():
    dependencies = requirements()
    pinned = pins(ROOT / "requirements.txt")
    for requirement in dependencies:
        name, bound = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)$", requirement.strip()).groups()
        version = pinned[name.lower().replace("_", "-")]
        assert release(re.match(r"[0-9.]+", version).group(0).rstrip(".")) >= release(bound), name


def test_the_build_backend_is_tested_at_its_lower_bound():
    """`make lowest` installs reglab (`pip install -e . --no-build-isolation`) with the oldest setuptools allowed."""
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    (bound,) = [re.match(r"setuptools\s*>=\s*([0-9.]+)$", r).group(1) for r in requires if r.startswith("setuptools")]
    assert release(pins(ROOT / "requirements-lowest.txt")["setuptools"])[:2] == release(bound)[:2]
