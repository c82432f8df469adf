"""The package works from a plain, non-editable install: data files ship inside it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import digests

ROOT = Path(__file__).resolve().parent.parent


def test_tests_run_against_the_installed_package() -> None:
    # `make test` installs with a plain `pip install .`; the code under test must be that copy.
    assert Path(digests.__file__).resolve().parent != ROOT / "digests"


def test_templates_ship_as_package_data() -> None:
    shipped = {p.name for p in resources.files("digests").joinpath("templates").iterdir()}
    in_repo = {p.name for p in (ROOT / "digests" / "templates").iterdir() if p.is_file()}
    assert in_repo <= shipped
