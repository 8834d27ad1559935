"""The contract every source passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from scim2_models import Group, User

from provision.contract import (
    Role,
)
from provision.testing.memory import SAMPLE, MemoryConnector, Sample, sync
from provision.testing.probes import (
    _by_name,
    _checks_pass,
    _diagnosis,
    _label,
    _primary_email,
    _read,
)


class SourceContract:
    """What every source must do. Give a ``source`` fixture holding `SAMPLE`.

    A source that cannot hold a group without members (a CSV that names groups on member
    rows) sets ``empty_groups = False``: the kit then expects the sample without its empty
    groups (``alumni``).
    """

    sample: Sample = SAMPLE
    empty_groups: bool = True
    """Whether the source can hold a group with no members."""

    @property
    def expected(self) -> Sample:
        """What the source must read: the sample, less what it declares it cannot hold."""
        if self.empty_groups:
            return self.sample
        return Sample(self.sample.users, {g: m for g, m in self.sample.groups.items() if m})

    @pytest.fixture
    def source(self) -> object:
        raise NotImplementedError("give a `source` fixture: a connector holding SAMPLE")

    def test_the_connector_class_has_no_plugin_mistakes(self, source: object) -> None:
        _diagnosis(source, Role.SOURCE)

    def test_checks_pass(self, source: object) -> None:
        _checks_pass(source)

    def test_read_yields_scim_objects_only(self, source: object) -> None:
        objects = _read(source, Role.SOURCE)
        strays = [o for o in objects if not isinstance(o, User | Group)]
        assert not strays, f"not users or groups (or unreadable sample objects): {strays}"

    def test_keys_are_unique_and_stable(self, source: object) -> None:
        first = [(type(o).__name__, o.external_id) for o in _read(source, Role.SOURCE)]
        second = [(type(o).__name__, o.external_id) for o in _read(source, Role.SOURCE)]
        keyless = [_label(o) for o in _read(source, Role.SOURCE) if not o.external_id]
        assert not keyless, (
            f"every object needs external_id (its source key); these have none: {keyless}"
        )
        twice = sorted({k for k in first if first.count(k) > 1})
        assert not twice, f"source keys must be unique; read more than once: {twice}"
        assert sorted(first) == sorted(second), (
            "source keys changed between two reads: "
            f"only in the first {sorted(set(first) - set(second))}, "
            f"only in the second {sorted(set(second) - set(first))}"
        )

    def test_users_match_the_sample(self, source: object) -> None:
        users = {
            k: v
            for k, v in _by_name(_read(source, Role.SOURCE)).items()
            if not k.startswith("group:")
        }
        wanted = sorted(u.user_name for u in self.expected.users)
        assert sorted(users) == wanted, (
            "the userNames read differ from the sample's: missing "
            f"{sorted(set(wanted) - set(users))}, unexpected {sorted(set(users) - set(wanted))}"
        )
        for expected in self.expected.users:
            user = users[expected.user_name]
            got = (
                (user.name.given_name, user.name.family_name) if user.name else None,
                _primary_email(user),
                user.active,
            )
            want = ((expected.given_name, expected.family_name), expected.email, expected.active)
            assert got == want, (
                f"user {expected.user_name!r}: (name, primary email, active) read as {got}, "
                f"the sample has {want}"
            )

    def test_groups_and_members_match_the_sample(self, source: object) -> None:
        objects = _by_name(_read(source, Role.SOURCE))
        names = {u.external_id: name for name, u in objects.items() if isinstance(u, User)}
        groups = {name[6:]: g for name, g in objects.items() if isinstance(g, Group)}
        wanted = sorted(self.expected.groups)
        empty = "" if self.empty_groups else " (empty_groups = False: none without members)"
        assert sorted(groups) == wanted, (
            f"the groups read differ from the sample's{empty}: missing "
            f"{sorted(set(wanted) - set(groups))}, unexpected {sorted(set(groups) - set(wanted))}"
        )
        for name, expected in self.expected.groups.items():
            members = sorted(
                names.get(m.value, f"unknown key {m.value}") for m in groups[name].members or ()
            )
            assert members == sorted(expected), (
                f"members of group {name!r} read as {members} (by userName), the sample has "
                f"{sorted(expected)}; members are named by their users' source keys"
            )

    def test_full_sync_is_complete_then_a_noop(self, source: object, tmp_path: Path) -> None:
        target = MemoryConnector()
        first = sync(source, target, tmp_path / "state.db")
        assert first.status == "succeeded", f"the first sync: {first.status}, {first.errors}"
        counts = (first.users["created"], first.groups["created"], first.memberships["added"])
        sample = self.expected
        want = (len(sample.users), len(sample.groups), sum(len(m) for m in sample.groups.values()))
        assert counts == want, (
            f"the first sync created (users, groups, memberships) {counts}, not {want}: "
            f"{first.as_dict()}"
        )
        second = sync(source, target, tmp_path / "state.db")
        assert second.status == "succeeded", f"the second sync: {second.status}, {second.errors}"
        assert second.writes == 0, f"a second sync must write nothing: {second.as_dict()}"
