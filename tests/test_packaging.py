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


def test_shipped_example_plan_matches_examples() -> None:
    shipped = resources.files("bot").joinpath("data/opcc-plan-2021-24.yaml").read_text("utf-8")
    assert shipped == (ROOT / "examples" / "opcc-plan-2021-24.yaml").read_text("utf-8")


def test_word_template_ships() -> None:
    for name in ("report.docx", "paper.docx"):  # the section alone, and the whole paper
        assert resources.files("digests").joinpath(f"templates/{name}").read_bytes()[:2] == b"PK"
