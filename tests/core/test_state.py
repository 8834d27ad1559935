"""The state file knows what it belongs to, and which schema version it is."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from provision import api, hookimpl
from provision.config import ConfigError, load
from provision.plugins import discover, inspect_connector
from provision.state import VERSION, State, StateError, StateMismatch
from provision.testing import MemoryConnector, Sample, SampleUser
from provision_cognito.connector import CognitoSource
from provision_cognito.settings import CognitoSettings
from provision_file import FileConnector, FileSettings
from provision_oci.connector import OciTarget
from provision_oci.settings import OciSettings
from tests.conftest import Cli

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    pair TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_key TEXT NOT NULL,
    target_id TEXT NOT NULL,
    linked_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (pair, kind, source_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_target ON links (pair, kind, target_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pair TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    report TEXT NOT NULL
);
"""
"""The schema of version 1, as `git show 557a262:core/provision/state.py` has it."""

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
        for i in range(6)
    ),
    groups={"everyone": tuple(f"person{i}" for i in range(6))},
)

S, T = "file:/pool.json", "file:/domain.json"


def v1_file(path: Path, links: dict[str, list[tuple[str, str, str]]]) -> None:
    """A state file as version 1 wrote it: no user_version, links keyed by 'SRC->DST'."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    for pair, rows in links.items():
        db.executemany(
            "INSERT INTO links (pair, kind, source_key, target_id) VALUES (?, ?, ?, ?)",
            [(pair, *row) for row in rows],
        )
    db.execute(
        "INSERT INTO runs (pair, dry_run, status, started_at, duration_s, report) "
        "VALUES ('src->dst', 0, 'succeeded', '2025-01-01T00:00:00Z', 1.0, '{}')"
    )
    db.commit()
    db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


# Schema version


def test_a_new_state_file_is_written_at_schema_version_2(tmp_path: Path) -> None:
    State(tmp_path / "state.db").close()
    assert VERSION == 2
    assert user_version(tmp_path / "state.db") == 2


def test_a_version_1_file_is_migrated_in_place_and_keeps_its_links(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    v1_file(path, {"src->dst": [("user", "key-ada", "id-1"), ("group", "staff", "id-2")]})
    with State(path) as state:
        assert state.version() == 2
        assert state.links("src->dst", "user") == {"key-ada": "id-1"}
        assert len(state.runs()) == 1
        [pair] = state.pairs()
        assert (pair.key, pair.name, pair.source_identity, pair.target_identity) == (
            "src->dst",
            "src->dst",
            None,
            None,
        )
        binding = state.bind("src->dst", S, T)
        assert binding.key == "src->dst"
        assert f"recorded as joining {S} -> {T}" in binding.note
    with State(path) as state:
        [pair] = state.pairs()
        assert (pair.source_identity, pair.target_identity) == (S, T)
        assert state.bind("src->dst", S, T).note == ""


def test_a_migration_that_fails_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    v1_file(path, {"src->dst": [("user", "key-ada", "id-1")]})
    db = sqlite3.connect(path)
    # the step's second statement will fail: its first (CREATE TABLE pairs) must not stay
    db.execute("CREATE INDEX pairs_identities ON links (target_id)")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="cannot be opened"):
        State(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM links").fetchone()[0] == 1
    tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert sorted(name for (name,) in tables) == ["links", "runs", "sqlite_sequence"]
    db.close()


def test_a_state_file_of_a_newer_provision_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    State(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 3")
    db.close()
    with pytest.raises(StateMismatch) as refused:
        State(path)
    message = str(refused.value)
    assert "schema version 3" in message
    assert "versions up to 2" in message
    assert "Upgrade provision" in message
    assert user_version(path) == 3


# Binding a pair to its systems


def test_a_renamed_table_keeps_the_key_of_the_pair_joining_the_same_systems(
    tmp_path: Path,
) -> None:
    with State(tmp_path / "state.db") as state:
        first = state.bind("pool->domain", S, T)
        state.link_many(first.key, "user", [("key-ada", "id-1")])
        renamed = state.bind("cognito->domain", S, T)
        assert renamed.key == first.key
        assert "table renamed from 'pool->domain'" in renamed.note
        assert state.links(renamed.key, "user") == {"key-ada": "id-1"}
        [pair] = state.pairs()
        assert pair.name == "cognito->domain"


def test_a_pair_of_this_name_joining_other_systems_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    with State(tmp_path / "state.db") as state:
        state.bind("src->dst", S, T)
        with pytest.raises(StateMismatch) as refused:
            state.bind("src->dst", S, "file:/elsewhere.json")
        [pair] = state.pairs()
    message = str(refused.value)
    assert f"joins {S} -> {T} there" in message
    assert f"now joins {S} -> file:/elsewhere.json" in message
    assert "[sync] state" in message
    assert "provision state forget 'src->dst'" in message
    assert pair.target_identity == T


def test_an_unknown_identity_falls_back_to_the_name(tmp_path: Path) -> None:
    with State(tmp_path / "state.db") as state:
        first = state.bind("src->dst", None, T)
        assert state.bind("src->dst", None, T).key == first.key
        assert state.bind("src->dst", S, T).key == first.key  # learnt now
        assert state.bind("src->dst", None, T).key == first.key
        assert state.bind("other->dst", None, T).key == "other->dst"  # no name: a new pair


def test_a_new_pair_whose_name_is_a_taken_key_gets_a_free_key(tmp_path: Path) -> None:
    with State(tmp_path / "state.db") as state:
        state.bind("src->dst", S, T)
        state.bind("renamed->dst", S, T)  # the pair keeps its key 'src->dst'
        fresh = state.bind("src->dst", "file:/new.json", T)
        assert fresh.key == "src->dst#2"
        assert sorted(p.key for p in state.pairs()) == ["src->dst", "src->dst#2"]


def test_a_dry_run_binding_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    v1_file(path, {"old->dst": [("user", "key-ada", "id-1")]})
    with State(path) as state:
        assert state.bind("new->dst", S, T, dry_run=True).key == "new->dst"
        assert "will be recorded" in state.bind("old->dst", S, T, dry_run=True).note
        [pair] = state.pairs()
        assert (pair.name, pair.source_identity, pair.target_identity) == ("old->dst", None, None)
        state.bind("old->dst", S, T)
        assert state.bind("renamed->dst", S, T, dry_run=True).key == "old->dst"
        assert [p.name for p in state.pairs()] == ["old->dst"]


def test_forget_drops_the_links_and_the_pair_and_keeps_the_runs(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    v1_file(path, {"src->dst": [("user", "key-ada", "id-1")], "a->b": [("user", "k", "i")]})
    with State(path) as state:
        state.bind("src->dst", S, T)
        assert state.forget("src->dst") == 1
        assert state.links("src->dst", "user") == {}
        assert [p.key for p in state.pairs()] == ["a->b"]
        assert [r.pair for r in state.runs()] == ["src->dst"]
        assert state.bind("src->dst", "file:/new.json", T).key == "src->dst"  # not refused


# The connectors' identities

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def test_identities_name_the_system_and_hold_no_secret(tmp_path: Path) -> None:
    cognito = CognitoSource(
        CognitoSettings(
            region="eu-west-1",
            user_pool_id="eu-west-1_AbC",
            access_key_id="AKIAEXAMPLEKEYID",
            secret_access_key=SECRET,  # type: ignore[arg-type]
            role_arn="arn:aws:iam::123456789012:role/Reader",
            external_id="an-external-id-secret",
        )
    )
    oci = OciTarget(
        OciSettings(
            domain_url="HTTPS://Idcs-ABC.Identity.OracleCloud.com:443/",
            client_id="the-client-id",
            client_secret=SECRET,  # type: ignore[arg-type]
        )
    )
    try:
        found = [
            cognito.provision_identity(),
            oci.provision_identity(),
            FileConnector(
                FileSettings(path=tmp_path / "sub" / ".." / "dst.json")
            ).provision_identity(),
        ]
    finally:
        oci.close()
    assert found == [
        "cognito-idp:eu-west-1:eu-west-1_AbC",
        "https://idcs-abc.identity.oraclecloud.com",
        f"file:{tmp_path.resolve() / 'dst.json'}",
    ]
    for secret in (SECRET, "AKIAEXAMPLEKEYID", "an-external-id-secret", "the-client-id"):
        assert not any(secret in identity for identity in found)


def test_a_stand_in_pool_never_matches_the_aws_pool() -> None:
    def identity(endpoint_url: str | None) -> str:
        return CognitoSettings(
            region="eu-west-1", user_pool_id="eu-west-1_AbC", endpoint_url=endpoint_url
        ).identity()

    aws = identity(None)
    assert identity("http://user:pass@127.0.0.1:5000/") == f"{aws}@http://127.0.0.1:5000"
    assert identity("https://vpce-1.cognito-idp.eu-west-1.vpce.amazonaws.com") == aws


# Wiring: api.sync binds, plans write no binding, a broken hook is named


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    (tmp_path / "provision.toml").write_text(CONFIG)
    write(tmp_path / "src.json", MemoryConnector.holding(PEOPLE).directory.dump())
    return tmp_path / "provision.toml"


def write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1))


def test_a_plan_writes_no_binding(config_file: Path) -> None:
    config = load(config_file, env={})
    report = api.sync(config, "src", "dst", dry_run=True)
    assert report.dry_run
    assert api.pairs(config) == []
    api.sync(config, "src", "dst")
    [pair] = api.pairs(config)
    assert pair.target_identity == f"file:{config_file.parent / 'dst.json'}"


class BrokenIdentity(FileConnector):
    """A file connector whose identity hook fails."""

    @hookimpl
    def provision_identity(self) -> str:
        raise RuntimeError("settings not what I expected")


def test_a_failing_identity_hook_is_a_configuration_error_naming_the_connector(
    config_file: Path,
) -> None:
    config_file.write_text(
        CONFIG.replace('connector = "file"\npath = "dst', 'connector = "broken"\npath = "dst')
    )
    registry = discover()
    registry.connectors["broken"] = inspect_connector("broken", BrokenIdentity, "tests", "0")
    config = load(config_file, env={}, known_connectors=set(registry.connectors))
    with pytest.raises(ConfigError) as error:
        api.sync(config, "src", "dst", registry=registry)
    message = str(error.value)
    assert "endpoint [dst]: connector 'broken' (tests)" in message
    assert "RuntimeError: settings not what I expected" in message
    assert "bug in the connector" in message
    assert not (config_file.parent / "provision-state.db").exists()


# The command line, between two files


@pytest.fixture
def files(cli: Cli, config_file: Path) -> Cli:
    assert config_file.parent == cli.cwd
    return cli


def drop_user(cwd: Path, name: str) -> None:
    source = json.loads((cwd / "src.json").read_text())
    gone = next(u for u in source["Users"] if u["userName"] == name)
    source["Users"].remove(gone)
    for group in source["Groups"]:
        group["members"] = [m for m in group["members"] if m["value"] != gone["externalId"]]
    write(cwd / "src.json", source)


def active(cwd: Path) -> dict[str, bool]:
    return {
        u["userName"]: u.get("active", True)
        for u in json.loads((cwd / "dst.json").read_text())["Users"]
    }


def test_renaming_a_table_keeps_its_links(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    (files.cwd / "provision.toml").write_text(CONFIG.replace("[dst]", "[domain]"))
    before = (files.cwd / "dst.json").stat().st_mtime_ns
    result = files("run", "src->domain", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["users"]["unchanged"] == 6
    assert report["requests"]["domain"].get("write_file", 0) == 0
    assert (files.cwd / "dst.json").stat().st_mtime_ns == before
    assert "table renamed from 'src->dst'" in result.stderr
    drop_user(files.cwd, "person3")  # only a link tells the sync it owns person3
    code, report = files.json("run", "src->domain")
    assert (code, report["users"]["deactivated"]) == (0, 1)
    assert active(files.cwd)["person3"] is False


def test_a_state_file_of_another_target_is_refused_by_name(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    (files.cwd / "provision.toml").write_text(CONFIG.replace('"dst.json"', '"other.json"'))
    result = files("run", "src->dst")
    assert result.returncode == 2
    assert f"file:{files.cwd.resolve() / 'dst.json'}" in result.stderr
    assert f"file:{files.cwd.resolve() / 'other.json'}" in result.stderr
    assert "provision state forget 'src->dst'" in result.stderr
    assert not (files.cwd / "other.json").exists()


def test_a_version_1_state_file_keeps_steering_the_sync(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    db = sqlite3.connect(files.cwd / "provision-state.db")  # back to what version 1 wrote
    db.executescript("DROP TABLE pairs; PRAGMA user_version = 0;")
    db.close()
    drop_user(files.cwd, "person2")
    code, report = files.json("run", "src->dst")
    assert (code, report["users"]["deactivated"]) == (0, 1)
    assert user_version(files.cwd / "provision-state.db") == 2


def test_state_show_lists_each_pair_with_its_systems_links_and_last_run(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    result = files("state", "show")
    assert result.returncode == 0, result.stderr
    assert "src->dst" in result.stdout
    assert f"source  file:{files.cwd.resolve() / 'src.json'}" in result.stdout
    assert "links   1 group, 6 users" in result.stdout
    assert "last    run 1, " in result.stdout
    assert "succeeded" in result.stdout
    code, pairs = files.json("state", "show")
    assert code == 0
    assert [(p["name"], p["links"], p["last_run"]["status"]) for p in pairs] == [
        ("src->dst", {"group": 1, "user": 6}, "succeeded")
    ]


def test_state_forget_drops_the_links_and_keeps_the_history(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    (files.cwd / "provision.toml").write_text(CONFIG.replace('"dst.json"', '"other.json"'))
    result = files("state", "forget", "src->dst", "--yes")
    assert result.returncode == 0, result.stderr
    assert "7 links dropped" in result.stdout
    assert files.json("state", "show") == (0, [])
    assert files.json("runs")[1][0]["status"] == "succeeded"
    code, report = files.json("run", "src->dst")  # the other target is accepted now
    assert (code, report["users"]["created"]) == (0, 6)


def test_state_forget_asks_first(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    result = files("state", "forget", "src->dst", input="n\n")
    assert result.returncode == 1
    assert "Forget pair 'src->dst'" in result.stderr
    assert files.json("state", "show")[1][0]["links"] == {"group": 1, "user": 6}


def test_state_forget_of_an_unknown_pair_names_the_known_ones(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    result = files("state", "forget", "pool->dst", "--yes")
    assert result.returncode == 2
    assert "no pair 'pool->dst'" in result.stderr
    assert "pairs held: 'src->dst'" in result.stderr
