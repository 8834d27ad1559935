"""The built-in ``file`` connector: the conformance kit, atomic writes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provision import Action, Change, Kind, Role, Unreadable
from provision.plugins import Endpoint
from provision.testing import SAMPLE, MemoryConnector, SourceContract, TargetContract, sync
from provision_file import FileConnector, FileSettings


def file_connector(path: Path) -> FileConnector:
    return FileConnector(FileSettings(path=path))


class TestFileAsSource(SourceContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> FileConnector:
        path = tmp_path / "source.json"
        path.write_text(json.dumps(MemoryConnector.holding(SAMPLE).directory.dump()))
        return file_connector(path)


class TestFileAsTarget(TargetContract):
    @pytest.fixture
    def target(self, tmp_path: Path) -> FileConnector:
        return file_connector(tmp_path / "target.json")


def read(connector: FileConnector, role: Role) -> list[object]:
    return list(
        Endpoint.wrap(connector).hook.provision_full_read(role=role, attributes=frozenset())
    )


def test_a_source_key_is_the_external_id_else_the_id(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(
        json.dumps(
            {
                "Users": [
                    {"id": "1", "userName": "a", "externalId": "ext-a"},
                    {"id": "2", "userName": "b"},
                ],
                "Groups": [
                    {"id": "g", "displayName": "g", "members": [{"value": "1"}, {"value": "2"}]}
                ],
            }
        )
    )
    a, b, g = read(file_connector(path), Role.SOURCE)
    assert (a.external_id, b.external_id, g.external_id) == ("ext-a", "2", "g")
    assert [m.value for m in g.members] == ["ext-a", "2"]  # members renamed to source keys
    a, b, g = read(file_connector(path), Role.TARGET)
    assert [m.value for m in g.members] == ["1", "2"]  # as a target: its own ids


def test_an_invalid_object_is_unreadable_and_the_rest_are_read(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(
        json.dumps(
            {
                "Users": [
                    {"id": "1", "userName": "ok"},
                    {"id": "2", "userName": "bad", "emails": [{"value": "not-an-email"}]},
                ]
            }
        )
    )
    ok, bad = read(file_connector(path), Role.SOURCE)
    assert ok.user_name == "ok"
    assert isinstance(bad, Unreadable)
    assert (bad.kind, bad.key) == (Kind.USER, "2")
    assert "bad" in bad.message
    assert "emails" in bad.message
    assert str(path) in bad.message


def test_a_missing_source_file_fails_the_read(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        read(file_connector(tmp_path / "nope.json"), Role.SOURCE)
    assert read(file_connector(tmp_path / "nope.json"), Role.TARGET) == []


def test_a_broken_file_fails_its_check_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text('{"Users": [')
    (check,) = Endpoint.wrap(file_connector(path)).hook.provision_test()
    assert not check.ok
    assert "not valid JSON" in check.message
    assert check.hint


def test_an_interrupted_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "target.json"
    target = file_connector(path)
    TargetContract().create_users(target, SAMPLE)
    before = path.read_bytes()

    def dies_halfway(obj: object, fh: object, **kwargs: object) -> None:
        fh.write('{"Users": [{"half')  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        TargetContract().create_users(target, SAMPLE.prefixed("x-"))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["target.json"]  # no temporary file left


def test_objects_without_an_id_are_kept_through_writes(tmp_path: Path) -> None:
    path = tmp_path / "target.json"
    path.write_text(json.dumps({"Users": [{"userName": "hand-written"}], "Groups": []}))
    TargetContract().create_users(file_connector(path), SAMPLE)
    names = [u["userName"] for u in json.loads(path.read_text())["Users"]]
    assert sorted(names) == ["ada", "grace", "hand-written", "linus"]


def test_an_unreadable_user_keeps_its_memberships_under_its_source_key(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(
        json.dumps(
            {
                "Users": [
                    {"id": "1", "userName": "ok", "externalId": "ext-1"},
                    {
                        "id": "2",
                        "userName": "bad",
                        "externalId": "ext-2",
                        "emails": [{"value": "not-an-email"}],
                    },
                ],
                "Groups": [
                    {"id": "g", "displayName": "g", "members": [{"value": "1"}, {"value": "2"}]}
                ],
            }
        )
    )
    _, bad, group = read(file_connector(path), Role.SOURCE)
    assert isinstance(bad, Unreadable)
    assert bad.key == "ext-2"
    assert [m.value for m in group.members] == ["ext-1", "ext-2"]


def test_a_source_object_without_an_id_is_keyed_by_its_external_id(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"Users": [{"userName": "hand", "externalId": "h-1"}]}))
    (user,) = read(file_connector(path), Role.SOURCE)
    assert (user.user_name, user.external_id) == ("hand", "h-1")


def test_a_source_object_without_an_id_or_external_id_is_unreadable_naming_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.json"
    path.write_text(
        json.dumps(
            {
                "Users": [{"id": "1", "userName": "ok"}, {"userName": "hand"}],
                "Groups": [{"displayName": "hand-group"}],
            }
        )
    )
    ok, user, group = read(file_connector(path), Role.SOURCE)
    assert ok.user_name == "ok"
    assert isinstance(user, Unreadable)
    assert user.kind is Kind.USER
    for text in ("'hand'", "Users[2]", str(path), "externalId"):
        assert text in user.message
    assert isinstance(group, Unreadable)
    assert group.kind is Kind.GROUP
    assert "'hand-group'" in group.message
    assert "Groups[1]" in group.message


def test_a_target_object_without_an_id_is_unreadable_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    loose = {"userName": "hand-written", "title": "kept"}
    path.write_text(json.dumps({"Users": [{"id": "1", "userName": "ok"}, loose]}))
    ok, user = read(file_connector(path), Role.TARGET)
    assert ok.id == "1"
    assert isinstance(user, Unreadable)
    assert "'hand-written'" in user.message
    assert "Users[2]" in user.message
    assert '"id"' in user.message


def test_a_sync_with_hand_written_objects_on_both_sides_runs_and_keeps_them(
    tmp_path: Path,
) -> None:
    src_path, dst_path = tmp_path / "source.json", tmp_path / "target.json"
    source_data = MemoryConnector.holding(SAMPLE).directory.dump()
    source_data["Users"].append({"userName": "nokey"})
    src_path.write_text(json.dumps(source_data))
    loose = {"userName": "hand-written"}
    dst_path.write_text(json.dumps({"Users": [loose], "Groups": []}))
    report = sync(file_connector(src_path), file_connector(dst_path), tmp_path / "state.db")
    assert report.status == "partial", report.as_dict()
    assert report.users["created"] == len(SAMPLE.users)
    assert any("nokey" in e["message"] for e in report.as_dict()["errors"]), report.errors
    assert loose in json.loads(dst_path.read_text())["Users"]


def test_a_create_never_takes_the_name_of_a_hand_written_object(tmp_path: Path) -> None:
    path = tmp_path / "target.json"
    path.write_text(json.dumps({"Users": [{"userName": "ada"}]}))
    ada = SAMPLE.users[0]
    change = Change(Kind.USER, Action.CREATE, "key-ada", "ada", resource=ada.to_scim("key-ada"))
    (outcome,) = TargetContract.write(file_connector(path), [change])
    assert not outcome.ok
    assert "'ada'" in (outcome.error or "")
    assert json.loads(path.read_text())["Users"] == [{"userName": "ada"}]
