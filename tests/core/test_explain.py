"""``provision explain PAIR NAME``: one object's situation and change, writing nothing."""

from __future__ import annotations

import json

from tests.conftest import Cli
from tests.core.test_cli import files, write

__all__ = ["files"]  # the fixture


def test_a_new_user_is_explained_as_missing_and_to_be_created(files: Cli) -> None:
    result = files("explain", "src->dst", "person3")
    assert result.returncode == 0, result.stderr
    assert "situation: missing" in result.stdout
    assert "a run would: create user person3" in result.stdout
    assert not (files.cwd / "dst.json").exists()  # nothing written
    assert not (files.cwd / "provision-state.db").exists()  # not even a state file


def test_a_linked_user_shows_each_change_before_and_after(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    source = json.loads((files.cwd / "src.json").read_text())
    (person,) = [u for u in source["Users"] if u["userName"] == "person2"]
    person["title"] = "Lead"
    person["userName"] = "person2.renamed"
    write(files.cwd / "src.json", source)
    code, found = files.json("explain", "src->dst", "person2.renamed")
    assert code == 0, found
    (obj,) = found["objects"]
    assert (obj["situation"], obj["via"]) == ("linked", "link")
    assert obj["target"]["name"] == "person2"  # the target side, found through the link
    changes = {a["attribute"]: (a["before"], a["after"]) for a in obj["attributes"]}
    assert changes == {"title": (None, "Lead"), "userName": ("person2", "person2.renamed")}
    before = (files.cwd / "dst.json").read_text()
    text = files("explain", "src->dst", "key-person2")  # by source key too
    assert 'userName: "person2" -> "person2.renamed"' in text.stdout
    assert (files.cwd / "dst.json").read_text() == before


def test_a_hand_made_target_user_is_explained_as_unmanaged(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    target = json.loads((files.cwd / "dst.json").read_text())
    target["Users"].append({"id": "hand-1", "userName": "break-glass"})
    write(files.cwd / "dst.json", target)
    code, found = files.json("explain", "src->dst", "break-glass")
    assert code == 0
    (obj,) = found["objects"]
    assert obj["situation"] == "unmanaged"
    assert obj["reaction"] == "never modified or deleted"


def test_an_unknown_name_exits_1_and_says_so(files: Cli) -> None:
    result = files("explain", "src->dst", "nobody")
    assert result.returncode == 1
    assert "no source or target object has the name or source key 'nobody'" in result.stdout
