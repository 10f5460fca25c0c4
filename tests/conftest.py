"""Shared fixtures: ``device`` runs a test on every device present; ``built_book`` builds the HTML once.

And how ``make test`` spreads the tests over its two workers (``pytest -n 2 --dist loadfile``): every test file
and every notebook is one unit of work, kept whole on one worker (a notebook's cells share one kernel, a module
its fixtures), except the files of ``SPLIT_FILES``, whose every test is a unit of its own: the full-scale runs,
one chapter each, are the slowest file, and the two workers share them instead of one running them all.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
from filelock import FileLock
import torch

matplotlib.use("Agg")  # tests draw figures without a screen

SPLIT_FILES = {"tests/test_full_scale.py"}


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's ``loadfile`` scheduling, with the tests of ``SPLIT_FILES`` scheduled one by one."""
    if config.getvalue("dist") != "loadfile":
        return None  # any other mode: xdist's own scheduler
    from xdist.scheduler import LoadFileScheduling

    class SplitSlowFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return nodeid if file in SPLIT_FILES else file

    return SplitSlowFiles(config, log)


DEVICES = ["cpu"]
if torch.cuda.is_available():
    DEVICES.append("cuda")
if torch.backends.mps.is_available():
    DEVICES.append("mps")


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """The CPU, plus CUDA and MPS wherever they are present."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, request) -> tuple[Path, str]:
    """Build the HTML book once per test run from the stored notebook outputs.

    Execution is switched off (nbval has executed every chapter) and any
    warning fails the build. Under pytest-xdist the workers share one build,
    made by whichever asks first. Returns the ``html`` folder and the build log.
    """
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    # Under xdist every worker's base temp is a folder of this run's own temp dir.
    shared = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    out = shared / "book"
    with FileLock(str(shared / "book.lock")):
        if not (out / "build.log").exists():
            out.mkdir(exist_ok=True)
            (out / "build.log").write_text(_build_book(out))
    return out / "_build" / "html", (out / "build.log").read_text()


def _build_book(out: Path) -> str:
    import yaml  # PyYAML (requirements.txt): only the book build needs it, not the unit tests

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # Paths in the configuration are relative to its folder: keep them pointing into the repository.
    extensions = config["sphinx"].get("local_extensions", {})
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in extensions.items()}
    (out / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    result = subprocess.run(
        [jupyter_book, "build", str(ROOT), "--config", str(out / "_config.yml"), "--path-output", str(out),
         "--builder", "html", "--warningiserror", "--keep-going", "--all"],
        capture_output=True, text=True, timeout=900,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    return log
