"""The README's two commands are the ones that work, and CI runs the test command."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_the_readme_gives_a_demo_command_and_a_test_command() -> None:
    demo, tests = commands()[:2]
    assert demo.startswith("python3 -m venv .venv")
    assert demo.endswith("provision demo")
    assert tests.startswith("python3 -m venv .venv")
    assert tests.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands()[1] in ci


def test_every_exit_code_of_the_cli_is_in_the_readme() -> None:
    from provision.report import EXIT_CODES

    for code in {*EXIT_CODES.values(), 2}:
        assert f"**{code}**" in README


def test_the_ownership_table_is_the_engines_table_of_situations() -> None:
    from provision.match import SITUATIONS

    readme = (ROOT / "README.md").read_text()
    for situation, rule in SITUATIONS.items():
        row = f"| {situation.value} | {rule.when} | {rule.reaction} |"
        assert row in readme, f"README's ownership table lacks or differs on: {row}"
