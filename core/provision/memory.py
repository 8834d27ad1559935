"""A directory of SCIM users and groups held as wire-format dicts, that applies `Change`s.

The building block of connectors whose storage is a whole document (the ``file`` connector, a
CSV or a YAML connector) and of `provision.testing.MemoryConnector`: load the document, read or
apply changes here, save it. It follows the write contract of ``provision_write`` to the
letter, so it also shows what that contract means for a store with no server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from scim2_models import Group, User

from provision.construct import parse
from provision.contract import Action, Change, Kind, Outcome, Role, Unreadable

if TYPE_CHECKING:
    from collections.abc import Iterator

NAME_ATTRIBUTE = {Kind.USER: "userName", Kind.GROUP: "displayName"}
LIST_NAME = {Kind.USER: "Users", Kind.GROUP: "Groups"}


class Directory:
    """Users and groups as SCIM JSON dicts, keyed by ``id``.

    Objects without an ``id`` (written by hand) are kept as they are, in `dump` too, and are
    never written over; a read yields them as `Unreadable`, except that a source keys one by
    its ``externalId`` when it has one.
    """

    def __init__(
        self,
        users: list[dict[str, Any]] | None = None,
        groups: list[dict[str, Any]] | None = None,
        where: str = "the directory",
    ) -> None:
        self.where = where
        self.objects: dict[Kind, dict[str, dict[str, Any]]] = {Kind.USER: {}, Kind.GROUP: {}}
        self._loose: dict[Kind, list[tuple[int, Any]]] = {Kind.USER: [], Kind.GROUP: []}
        """Objects without an id, with their place in the document."""
        self._place: dict[Kind, dict[str, int]] = {Kind.USER: {}, Kind.GROUP: {}}
        for kind, items in ((Kind.USER, users or []), (Kind.GROUP, groups or [])):
            for index, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
                    self.objects[kind][item["id"]] = item
                    self._place[kind][item["id"]] = index
                else:
                    self._loose[kind].append((index, item))

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self.objects[Kind.USER]

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        return self.objects[Kind.GROUP]

    def dump(self) -> dict[str, list[Any]]:
        """``{"Users": [...], "Groups": [...]}``, as it should be saved."""
        return {
            LIST_NAME[kind]: [*self.objects[kind].values(), *(o for _, o in self._loose[kind])]
            for kind in (Kind.USER, Kind.GROUP)
        }

    def read(self, role: Role) -> Iterator[User[Any] | Group | Unreadable]:
        """Every object; as a source, keyed by ``externalId`` (else ``id``), members too."""
        # user id → source key for every user with an id, readable or not: an unreadable
        # user keeps its memberships under the key its `Unreadable` carries
        keys = {uid: str(raw.get("externalId") or uid) for uid, raw in self.users.items()}
        for kind in (Kind.USER, Kind.GROUP):
            places = self._place[kind]
            held = [(places.get(oid, -1), raw) for oid, raw in self.objects[kind].items()]
            for index, raw in [*held, *self._loose[kind]]:
                yield self._read_one(kind, index, raw, role, keys)

    def _read_one(
        self, kind: Kind, index: int, raw: Any, role: Role, keys: dict[str, str]
    ) -> User[Any] | Group | Unreadable:
        source = role is Role.SOURCE
        model: type[User[Any]] | type[Group] = User if kind is Kind.USER else Group
        try:
            obj = parse(model, raw)  # model_validate, fast when the payload is clean
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(object)'}: {e['msg']}"
                for e in err.errors()
            )
            message = f"{self._describe(kind, index, raw)} is not valid SCIM: {problems}."
            return Unreadable(
                kind, self._key_of(kind, index, raw, role), message + " Fix it there."
            )
        if source:
            obj.external_id = obj.external_id or obj.id
        if not (obj.external_id if source else obj.id):
            return Unreadable(
                kind, self._key_of(kind, index, raw, role), self._keyless(kind, index, raw, role)
            )
        if source and isinstance(obj, Group):
            for member in obj.members or ():
                member.value = keys.get(member.value or "", member.value)
        return obj

    def apply(self, change: Change) -> Outcome:
        """Apply one change; a failure is an outcome, never an exception."""
        try:
            return self._apply(change)
        except Exception as err:  # e.g. a patch the SCIM model refuses
            return Outcome.failed(change, f"{type(err).__name__}: {err}")

    def _apply(self, change: Change) -> Outcome:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if change.action is Action.CREATE:
            return self._create(change, now)
        store = self.groups if change.kind is Kind.MEMBERSHIP else self.objects[change.kind]
        current = store.get(change.target_id or "")
        if current is None:
            if change.action is Action.DELETE:
                return Outcome.succeeded(change)  # already gone: what was asked
            return Outcome.failed(
                change,
                f"no {change.kind.value} with id {change.target_id!r} in {self.where} (removed "
                "by hand?); the next run notices and relinks",
            )
        if change.action is Action.UPDATE:
            if change.patch is None or change.resource is None:
                return Outcome.failed(change, "an update needs a patch and a resource")
            # the patch, not the resource: members and attributes the sync does not manage stay
            model = type(change.resource).model_validate(current)
            change.patch.patch(model)
            updated = model.model_dump(mode="json")
            updated["meta"] = {**current.get("meta", {}), "lastModified": now}
            store[current["id"]] = updated
        elif change.action is Action.DEACTIVATE:
            current["active"] = False
        elif change.action is Action.DELETE:
            del store[current["id"]]
            if change.kind is Kind.USER:  # a deleted user leaves the groups it was in
                for group in self.groups.values():
                    if current["id"] in _members(group):
                        _set_members(group, [m for m in _members(group) if m != current["id"]])
        elif change.action is Action.ADD_MEMBERS:
            members = _members(current)
            _set_members(current, members + [m for m in change.members if m not in members])
        elif change.action is Action.REMOVE_MEMBERS:
            gone = set(change.members)
            _set_members(current, [m for m in _members(current) if m not in gone])
        return Outcome.succeeded(change)

    def _create(self, change: Change, now: str) -> Outcome:
        if change.resource is None or change.kind is Kind.MEMBERSHIP:
            return Outcome.failed(change, "a create needs a user or group resource")
        attr = NAME_ATTRIBUTE[change.kind]
        data = change.resource.model_dump(mode="json")
        name = str(data.get(attr, ""))
        # A name already taken is this store's 409: the sync's own object (a retried create)
        # is answered with its id; any other object, written by hand included, is not taken over.
        held = self.objects[change.kind]
        for oid, other in held.items():
            if str(other.get(attr, "")).lower() == name.lower():
                if other.get("externalId") == change.key:
                    return Outcome.succeeded(change, oid)
                return self._taken(change, attr, name, other.get("externalId"))
        for _, other in self._loose[change.kind]:
            if isinstance(other, dict) and str(other.get(attr, "")).lower() == name.lower():
                return self._taken(change, attr, name, other.get("externalId"))
        data["id"] = str(uuid.uuid4())
        data["meta"] = {
            "resourceType": "User" if change.kind is Kind.USER else "Group",
            "created": now,
            "lastModified": now,
        }
        self.objects[change.kind][data["id"]] = data
        return Outcome.succeeded(change, data["id"])

    def _taken(self, change: Change, attr: str, name: str, owner: Any) -> Outcome:
        whose = f"externalId {owner!r}" if owner else "no externalId"
        return Outcome.failed(
            change,
            f"{attr} {name!r} is already taken in {self.where} by another "
            f"{change.kind.value} ({whose}); rename or remove the other object",
        )

    def _describe(self, kind: Kind, index: int, raw: Any) -> str:
        """``user 'ada' (Users[3] in PATH)``: the object, and where to find it."""
        name = raw.get(NAME_ATTRIBUTE[kind]) if isinstance(raw, dict) else None
        shown = repr(name) if isinstance(name, str) and name else "(no name)"
        place = f"{LIST_NAME[kind]}[{index + 1}] in " if index >= 0 else ""
        return f"{kind.value} {shown} ({place}{self.where})"

    def _key_of(self, kind: Kind, index: int, raw: Any, role: Role) -> str:
        """The key the engine knows the object by (a source's key, a target's id), else
        its place in the document."""
        if isinstance(raw, dict):
            key = (raw.get("externalId") if role is Role.SOURCE else None) or raw.get("id")
            if isinstance(key, str) and key:
                return key
        return f"{LIST_NAME[kind]}[{index + 1}]"

    def _keyless(self, kind: Kind, index: int, raw: Any, role: Role) -> str:
        what = self._describe(kind, index, raw)
        if role is Role.SOURCE:
            return (
                f'{what} has neither an "id" nor an "externalId", so it has no key to sync it '
                'by; give it a unique "externalId" (or "id"), or remove it.'
            )
        return (
            f'{what} has no "id", so provision cannot manage it and leaves it as it is; give '
            'it a unique "id", or remove it.'
        )


def _members(group: dict[str, Any]) -> list[str]:
    return [
        m["value"] for m in group.get("members") or () if isinstance(m, dict) and m.get("value")
    ]


def _set_members(group: dict[str, Any], members: list[str]) -> None:
    group["members"] = [{"value": m, "type": "User"} for m in members]
