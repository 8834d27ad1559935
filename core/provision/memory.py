"""A directory of SCIM users and groups held as wire-format dicts, that applies `Change`s.

The building block of connectors whose storage is a whole document (the ``file`` connector, a
CSV or a YAML connector) and of `provision.testing.MemoryConnector`: load the document, read or
apply changes here, save it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from scim2_models import Group, User

from provision.contract import Action, Change, Kind, Outcome, Role, Unreadable

if TYPE_CHECKING:
    from collections.abc import Iterator

NAME_ATTRIBUTE = {Kind.USER: "userName", Kind.GROUP: "displayName"}


class Directory:
    """Users and groups as SCIM JSON dicts, keyed by ``id``."""

    def __init__(
        self,
        users: list[dict[str, Any]] | None = None,
        groups: list[dict[str, Any]] | None = None,
        where: str = "the directory",
    ) -> None:
        self.where = where
        self._loose: dict[Kind, list[Any]] = {Kind.USER: [], Kind.GROUP: []}
        self.objects: dict[Kind, dict[str, dict[str, Any]]] = {Kind.USER: {}, Kind.GROUP: {}}
        for kind, items in ((Kind.USER, users or []), (Kind.GROUP, groups or [])):
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    self.objects[kind][item["id"]] = item
                else:  # hand-written objects without an id are kept as they are
                    self._loose[kind].append(item)

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self.objects[Kind.USER]

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        return self.objects[Kind.GROUP]

    def dump(self) -> dict[str, list[Any]]:
        """``{"Users": [...], "Groups": [...]}``, as it should be saved."""
        return {
            "Users": [*self.users.values(), *self._loose[Kind.USER]],
            "Groups": [*self.groups.values(), *self._loose[Kind.GROUP]],
        }

    def read(self, role: Role) -> Iterator[User[Any] | Group | Unreadable]:
        """Every object; as a source, keyed by ``externalId`` (else ``id``), members too."""
        source = role is Role.SOURCE
        keys: dict[str, str] = {}  # user id → source key, to rename group members
        models: tuple[tuple[Kind, type[User[Any]] | type[Group]], ...] = (
            (Kind.USER, User),
            (Kind.GROUP, Group),
        )
        for kind, model in models:
            items = [*self.objects[kind].values(), *self._loose[kind]]
            for index, raw in enumerate(items):
                try:
                    obj = model.model_validate(raw)
                except ValidationError as err:
                    yield Unreadable(kind, _key_of(raw, index, role), self._invalid(err, kind, raw))
                    continue
                if source:
                    obj.external_id = obj.external_id or obj.id
                    if isinstance(obj, User) and obj.id and obj.external_id:
                        keys[obj.id] = obj.external_id
                    if isinstance(obj, Group):
                        for member in obj.members or ():
                            member.value = keys.get(member.value or "", member.value)
                yield obj

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
            return Outcome.failed(
                change,
                f"no {change.kind.value} with id {change.target_id!r} in {self.where} (removed "
                "by hand?); the next run notices and relinks",
            )
        if change.action is Action.UPDATE:
            if change.patch is None or change.resource is None:
                return Outcome.failed(change, "an update needs a patch and a resource")
            model = type(change.resource).model_validate(current)
            change.patch.patch(model)
            updated = model.model_dump(mode="json")
            updated["meta"] = {**current.get("meta", {}), "lastModified": now}
            store[current["id"]] = updated
        elif change.action is Action.DEACTIVATE:
            current["active"] = False
        elif change.action is Action.DELETE:
            del store[current["id"]]
            if change.kind is Kind.USER:
                for group in self.groups.values():
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
        store = self.objects[change.kind]
        # Names are unique as SCIM's caseExact=false compares them: lower case, no casefold.
        if any(str(o.get(attr, "")).lower() == name.lower() for o in store.values()):
            return Outcome.failed(
                change,
                f"{attr} {name!r} is already taken in {self.where}; rename or remove "
                "the other object",
            )
        data["id"] = str(uuid.uuid4())
        data["meta"] = {
            "resourceType": "User" if change.kind is Kind.USER else "Group",
            "created": now,
            "lastModified": now,
        }
        store[data["id"]] = data
        return Outcome.succeeded(change, data["id"])

    def _invalid(self, err: ValidationError, kind: Kind, raw: Any) -> str:
        name = raw.get(NAME_ATTRIBUTE[kind]) if isinstance(raw, dict) else None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(object)'}: {e['msg']}" for e in err.errors()
        )
        return (
            f"{kind.value} {name or '(no name)'!s} in {self.where} is not valid SCIM: "
            f"{problems}. Fix it there."
        )


def _members(group: dict[str, Any]) -> list[str]:
    return [
        m["value"] for m in group.get("members") or () if isinstance(m, dict) and m.get("value")
    ]


def _set_members(group: dict[str, Any], members: list[str]) -> None:
    group["members"] = [{"value": m, "type": "User"} for m in members]


def _key_of(raw: Any, index: int, role: Role) -> str:
    """The key the engine knows the object by: a source's key, or a target's id."""
    if isinstance(raw, dict):
        first = raw.get("externalId") if role is Role.SOURCE else raw.get("id")
        return str(first or raw.get("id") or f"#{index + 1}")
    return f"#{index + 1}"
