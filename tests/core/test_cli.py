"""The ``provision`` command as an operator uses it: a subprocess between two files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from provision.testing import MemoryConnector, Sample, SampleUser
from tests.conftest import Cli

CONFIG = """\
[src]
connector = "file"
path = "src.json"

[dst]
connector = "file"
path = "dst.json"
"""

PEOPLE = Sample(
    users=tuple(
        SampleUser(f"person{i}", f"Given{i}", f"Family{i}", f"person{i}@example.org")
        for i in range(12)
    ),
    groups={"everyone": tuple(f"person{i}" for i in range(12)), "leads": ("person0", "person1")},
)


@pytest.fixture
def files(cli: Cli) -> Cli:
    (cli.cwd / "provision.toml").write_text(CONFIG)
    write(cli.cwd / "src.json", MemoryConnector.holding(PEOPLE).directory.dump())
    return cli


def write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1))


def users(path: Path) -> dict[str, dict[str, Any]]:
    return {u["userName"]: u for u in json.loads(path.read_text())["Users"]}


def test_the_first_run_creates_and_the_second_writes_nothing(files: Cli) -> None:
    code, first = files.json("run", "src->dst")
    assert code == 0
    assert first["status"] == "succeeded"
    assert (first["users"]["created"], first["groups"]["created"]) == (12, 2)
    assert first["memberships"]["added"] == 14
    before = (files.cwd / "dst.json").stat().st_mtime_ns
    code, second = files.json("run", "src->dst")
    assert code == 0
    assert sum(second["users"][k] for k in ("created", "updated", "deactivated", "deleted")) == 0
    assert second["users"]["unchanged"] == 12
    assert second["requests"]["dst"].get("write_file", 0) == 0
    assert (files.cwd / "dst.json").stat().st_mtime_ns == before


def test_a_user_removed_from_the_source_is_deactivated_in_the_target(files: Cli) -> None:
    files("run", "src->dst")
    source = json.loads((files.cwd / "src.json").read_text())
    source["Users"] = [u for u in source["Users"] if u["userName"] != "person3"]
    for group in source["Groups"]:
        group["members"] = [m for m in group["members"] if m["value"] != "key-person3"]
    write(files.cwd / "src.json", source)
    code, report = files.json("run", "src->dst")
    assert code == 0
    assert report["users"]["deactivated"] == 1
    assert users(files.cwd / "dst.json")["person3"]["active"] is False


def test_a_target_user_with_no_link_is_untouched(files: Cli) -> None:
    files("run", "src->dst")
    target = json.loads((files.cwd / "dst.json").read_text())
    target["Users"].append({"id": "by-hand", "userName": "admin", "title": "kept as is"})
    write(files.cwd / "dst.json", target)
    code, report = files.json("run", "src->dst")
    assert code == 0
    assert report["users"]["deactivated"] == 0
    assert users(files.cwd / "dst.json")["admin"] == {
        "id": "by-hand",
        "userName": "admin",
        "title": "kept as is",
    }


def test_the_guard_stops_a_mass_deactivation_and_names_the_flag(files: Cli) -> None:
    files("run", "src->dst")
    write(files.cwd / "src.json", {"Users": [], "Groups": []})
    before = (files.cwd / "dst.json").read_bytes()
    code, report = files.json("run", "src->dst")
    assert code == 1
    assert report["status"] == "aborted"
    assert "--allow-deletes" in report["reason"]
    assert (files.cwd / "dst.json").read_bytes() == before
    code, report = files.json("run", "src->dst", "--allow-deletes")
    assert code == 0
    assert report["users"]["deactivated"] == 12


def test_plan_shows_the_changes_and_writes_nothing(files: Cli) -> None:
    result = files("plan", "src->dst")
    assert result.returncode == 0, result.stderr
    assert "create user person0" in result.stdout
    assert "create group leads" in result.stdout
    assert not (files.cwd / "dst.json").exists()


def test_the_pair_may_be_two_words_and_the_report_a_file(files: Cli) -> None:
    result = files("run", "src", "dst", "--report", "out/report.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((files.cwd / "out" / "report.json").read_text())
    assert report["source"] == "src"
    assert report["target"] == "dst"
    assert report["mode"] == "full"
    assert report["dry_run"] is False


def test_an_unquoted_arrow_is_explained_with_the_operators_own_command(files: Cli) -> None:
    result = subprocess.run(  # as a shell runs it: `provision plan src->backup` unquoted
        f"{sys.executable} -m provision plan src->backup",
        shell=True,
        cwd=files.cwd,
        env=files.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Quote the pair: provision plan 'src->backup'" in result.stderr
    assert "it created ./backup: remove it" in result.stderr
    assert "provision run" not in result.stderr  # a dry run is not answered with a write


def test_an_unquoted_arrow_without_a_stray_file_still_says_what_to_type(files: Cli) -> None:
    result = files("run", "src-")
    assert result.returncode == 2
    assert "provision run 'src->TARGET'" in result.stderr


def test_incremental_is_refused_with_the_reason(files: Cli) -> None:
    result = files("run", "src->dst", "--incremental")
    assert result.returncode == 2
    assert "cannot sync incrementally" in result.stderr
    assert "only supports full reads" in result.stderr
    assert not (files.cwd / "dst.json").exists()


def test_a_configuration_mistake_exits_2_without_a_traceback(files: Cli) -> None:
    (files.cwd / "provision.toml").write_text(CONFIG + "\n[sync]\nmax_delets = 3\n")
    result = files("run", "src->dst")
    assert result.returncode == 2
    assert "provision.toml: [sync] unknown key 'max_delets'. Did you mean 'max_deletes'?" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    debug = files("--debug", "run", "src->dst")
    assert "Traceback" in debug.stderr


def test_a_missing_configuration_file_is_named(cli: Cli) -> None:
    result = cli("-c", "nowhere.toml", "run", "a->b")
    assert result.returncode == 2
    assert "nowhere.toml: no such configuration file" in result.stderr


def test_an_unknown_endpoint_is_named_with_the_known_ones(files: Cli) -> None:
    result = files("run", "src->dts")
    assert result.returncode == 2
    assert "no endpoint named 'dts'. Did you mean 'dst'?" in result.stderr


def test_test_prints_each_check_and_exits_1_on_failure(files: Cli) -> None:
    ok = files("test", "src")
    assert ok.returncode == 0
    assert "ok" in ok.stdout
    assert "file readable" in ok.stdout
    (files.cwd / "src.json").write_text("{broken")
    bad = files("test", "src")
    assert bad.returncode == 1
    assert "FAIL file readable" in bad.stdout
    assert "fix:" in bad.stdout


def test_a_source_that_cannot_be_read_aborts_and_writes_nothing(files: Cli) -> None:
    (files.cwd / "src.json").write_text("{broken")
    code, report = files.json("run", "src->dst")
    assert code == 1
    assert report["status"] == "aborted"
    assert "not valid JSON" in report["reason"]
    assert "Nothing was written" in report["reason"]
    assert not (files.cwd / "dst.json").exists()


def test_partial_runs_exit_3(files: Cli) -> None:
    source = json.loads((files.cwd / "src.json").read_text())
    source["Users"].append({"id": "dup", "userName": "PERSON0"})  # a name clash
    write(files.cwd / "src.json", source)
    code, report = files.json("run", "src->dst")
    assert code == 3
    assert report["status"] == "partial"
    users = sorted(e["key"] for e in report["errors"] if e["kind"] == "user")
    assert users == ["dup", "key-person0"]  # neither name holder is created: both are named


def test_runs_lists_past_runs(files: Cli) -> None:
    files("plan", "src->dst")
    files("run", "src->dst")
    result = files("runs")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert "src->dst" in lines[1]
    assert "succeeded" in lines[1]
    assert "(plan)" not in lines[1]
    assert "+12 ~0 -0" in lines[1]
    assert "succeeded (plan)" in lines[2]
    code, history = files.json("runs")
    assert code == 0
    assert [r["dry_run"] for r in history] == [False, True]


def test_a_second_run_on_the_same_state_is_refused(files: Cli) -> None:
    from provision.state import State

    with State(files.cwd / "provision-state.db") as state:
        state.lock("elsewhere")
        result = files("run", "src->dst")
    assert result.returncode == 1
    assert "another run is using state file" in result.stderr
    assert "elsewhere" in result.stderr


def test_connectors_lists_the_built_in_file_connector(cli: Cli) -> None:
    code, found = cli.json("connectors")
    assert code == 0
    (file,) = [c for c in found["connectors"] if c["name"] == "file"]
    assert file["roles"] == ["source", "target"]
    assert file["distribution"] == "provision-sync"


def test_settings_come_from_the_environment(cli: Cli) -> None:
    write(cli.cwd / "people.json", MemoryConnector.holding(PEOPLE).directory.dump())
    env = {
        "PROVISION_FILE_PATH": "people.json",
        "PROVISION_COPY_CONNECTOR": "file",
        "PROVISION_COPY_PATH": "copy.json",
    }
    (cli.cwd / "provision.toml").write_text("[copy]\n")
    result = cli("run", "file->copy", env=env)
    assert result.returncode == 0, result.stderr
    assert len(users(cli.cwd / "copy.json")) == 12


def test_plan_json_lists_every_change_for_review(files: Cli) -> None:
    files("run", "src->dst")
    source = json.loads((files.cwd / "src.json").read_text())
    source["Users"][0]["title"] = "Lead"
    source["Groups"][1]["members"] = source["Groups"][1]["members"][:1]
    write(files.cwd / "src.json", source)
    code, plan = files.json("plan", "src->dst", "--report", "plan.json")
    assert code == 0
    changes = {(c["kind"], c["action"], c["name"]): c for c in plan["changes"]}
    assert changes[("user", "update", "person0")]["attributes"] == ["title"]
    (members,) = [c for c in plan["changes"] if c["kind"] == "membership"]
    assert members["name"] == "leads"
    assert len(members["remove_members"]) == 1
    assert json.loads((files.cwd / "plan.json").read_text())["changes"] == plan["changes"]
    assert "Lead" not in (files.cwd / "dst.json").read_text()  # and nothing was written


def test_a_report_that_cannot_be_written_fails_the_command(files: Cli) -> None:
    (files.cwd / "blocked").write_text("a file where a directory should be")
    result = files("run", "src->dst", "--report", "blocked/report.json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot write the report to blocked/report.json" in result.stderr
    assert "succeeded run" in result.stdout  # the run itself went through, and says so


def test_plan_exit_code_says_whether_there_are_changes(files: Cli) -> None:
    assert files("plan", "src->dst", "--exit-code").returncode == 4
    assert files("run", "src->dst").returncode == 0
    assert files("plan", "src->dst", "--exit-code").returncode == 0
    assert files("plan", "src->dst").returncode == 0  # without the flag: 0 either way


def test_show_belongs_to_plan_and_refuses_negative_numbers(files: Cli) -> None:
    assert files("plan", "src->dst", "--show", "-1").returncode == 2
    assert files("run", "src->dst", "--show", "5").returncode == 2
    listed = files("plan", "src->dst", "--show", "0")
    assert listed.returncode == 0
    assert "… and" in listed.stdout  # only the counts; the changes are summed up


def test_quiet_runs_print_no_progress_and_json_logs_are_one_object_a_line(files: Cli) -> None:
    quiet = files("-q", "run", "src->dst")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # no progress lines: the report alone, on stdout
    assert "succeeded run" in quiet.stdout
    config = files.cwd / "provision.toml"
    config.write_text(config.read_text().replace("[dst]", "[backup]"))  # a renamed table
    logged = files("-q", "--log-format", "json", "run", "src->backup")
    assert logged.returncode == 0, logged.stderr
    (line,) = logged.stderr.splitlines()  # the state's note, and nothing else
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["logger"] == "provision.api"
    assert "renamed" in entry["message"]


def test_a_plan_shows_values_before_and_after_and_members_by_name(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    source = json.loads((files.cwd / "src.json").read_text())
    (person,) = [u for u in source["Users"] if u["userName"] == "person4"]
    person["title"] = "Lead"
    (leads,) = [g for g in source["Groups"] if g["displayName"] == "leads"]
    leads["members"] = [{"value": "key-person0"}, {"value": "key-person4"}]
    write(files.cwd / "src.json", source)
    text = files("plan", "src->dst")
    assert "~ update user person4 (title)" in text.stdout
    assert '    title: (none) -> "Lead"' in text.stdout
    assert "    + person4" in text.stdout
    assert "    - person1" in text.stdout
    code, plan = files.json("plan", "src->dst")
    assert code == 0
    (members,) = [c for c in plan["changes"] if c["kind"] == "membership"]
    assert members["details"]["add"] == [{"key": "key-person4", "name": "person4"}]
    assert [m["name"] for m in members["details"]["remove"]] == ["person1"]


def test_a_plan_shows_what_a_create_will_send(files: Cli) -> None:
    code, plan = files.json("plan", "src->dst")
    assert code == 0
    (create,) = [c for c in plan["changes"] if c["name"] == "person0"]
    assert create["details"]["after"]["userName"] == "person0"
    assert create["details"]["after"]["emails"][0]["value"] == "person0@example.org"


def test_a_misspelt_table_stops_the_command_with_did_you_mean(files: Cli) -> None:
    config = files.cwd / "provision.toml"
    config.write_text(config.read_text() + '[synk]\non_delete = "delete"\nmax_deletes = 0\n')
    result = files("run", "src->dst")
    assert result.returncode == 2
    assert "table [synk]" in result.stderr
    assert "Did you mean [sync]?" in result.stderr
    assert not (files.cwd / "dst.json").exists()


def test_secrets_from_a_file_and_a_missing_provision_toml_are_said(cli: Cli) -> None:
    secret = cli.cwd / "oci-secret"
    secret.write_text("s3cret\n")
    env = {
        "PROVISION_OCI_DOMAIN_URL": "http://127.0.0.1:9",
        "PROVISION_OCI_CLIENT_ID": "c",
        "PROVISION_OCI_CLIENT_SECRET_FILE": str(secret),
        "PROVISION_OCI_MAX_ATTEMPTS": "1",
    }
    result = cli("test", "oci", env=env)
    assert result.returncode == 1  # nothing listens on port 9: the secret was read and used
    assert "FAIL domain answers" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr
    broken = cli("test", "oci", env={**env, "PROVISION_OCI_TIER": "gold"})
    assert f"no provision.toml in {cli.cwd}" in broken.stderr
