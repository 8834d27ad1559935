"""What crosses the boundary between the core and a connector.

Resources themselves are scim2-models objects (`User`, `Group`); this module holds the small
typed values that travel beside them: connectivity checks, changes to apply, their outcomes,
objects a source could not read, and a connector's declared capabilities.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from scim2_models import Group, PatchOp, User


class Role(StrEnum):
    """What a connector can be in a sync pair."""

    SOURCE = "source"
    TARGET = "target"


class Kind(StrEnum):
    """The kind of object a change or an error is about."""

    USER = "user"
    GROUP = "group"
    MEMBERSHIP = "membership"


class Action(StrEnum):
    """What a change asks the target to do."""

    CREATE = "create"
    """Create `resource`; answer with the new object's id in `Outcome.target_id`."""
    UPDATE = "update"
    """Apply `patch` (only the changed attributes) to `target_id`; `resource` is the whole
    desired object, for targets that can only replace."""
    DEACTIVATE = "deactivate"
    """Set the user `target_id` inactive (users only)."""
    DELETE = "delete"
    """Delete `target_id`."""
    ADD_MEMBERS = "add_members"
    """Add the users `members` (target ids) to the group `target_id`."""
    REMOVE_MEMBERS = "remove_members"
    """Remove the users `members` (target ids) from the group `target_id`."""


@dataclass(frozen=True, slots=True)
class Check:
    """One named result of a connectivity test: what was checked, how it went, what to do."""

    name: str
    ok: bool
    message: str
    hint: str = ""
    """What the operator should do when `ok` is false (empty when there is nothing to do)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One write the engine asks a target to make.

    `key` is the object's source key (for a membership change, the group's), and `label` its
    natural key (`userName` or `displayName`) for messages. Group resources and membership
    changes name members by their **target** ids: the engine sends user creates before group
    creates and resolves the ids in between.
    """

    kind: Kind
    action: Action
    key: str
    label: str = ""
    target_id: str | None = None
    resource: User[Any] | Group | None = None
    patch: PatchOp[Any] | None = None
    members: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short human description, e.g. ``update user alice``."""
        name = self.label or self.key
        if self.kind is Kind.MEMBERSHIP:
            verb = "add" if self.action is Action.ADD_MEMBERS else "remove"
            return f"{verb} {len(self.members)} member(s) of group {name}"
        return f"{self.action.value} {self.kind.value} {name}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one `Change`: a target yields exactly one per change it was given."""

    change: Change
    ok: bool
    target_id: str | None = None
    """The object's id in the target: required for a successful create."""
    error: str | None = None
    """Why it failed, worded for an operator: what went wrong and what to do."""

    @classmethod
    def succeeded(cls, change: Change, target_id: str | None = None) -> Outcome:
        return cls(change, True, target_id or change.target_id)

    @classmethod
    def failed(cls, change: Change, error: str) -> Outcome:
        return cls(change, False, change.target_id, error)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A source object that exists but could not be turned into a SCIM resource.

    A source yields it in place of the object, so the engine knows the object is still there
    (its target counterpart is neither deactivated nor deleted) and reports it as that
    object's error, while every other object is synced.
    """

    kind: Kind
    key: str
    message: str


@dataclass(frozen=True, slots=True)
class Unverified:
    """A source object whose identity the source has not verified: synced, never adopted.

    A source yields it in place of the object (an unconfirmed sign-up, an email address nobody
    proved to own): the engine syncs it like any other, but never matches it to an existing
    target object by name, so that an account made by hand or for someone else is never handed
    to an identity nobody vouched for. A name already taken is reported, not adopted.
    """

    resource: User[Any] | Group
    why: str = "not verified by the source"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a connector can do beyond the required hooks."""

    incremental: bool = False
    """Whether the connector can read only what changed since the last run."""
    incremental_reason: str = "this connector only supports full reads"
    """Why not, told to an operator who asks for an incremental run."""
    user_key_pattern: str | None = None
    """A source's user keys, as a regular expression they match in full (Cognito: the
    ``sub`` UUID). A target user linked to nothing whose externalId matches it is reported
    as *unmatched* (state lost, or a leaver whose link went); without a pattern every
    unlinked target user that carries an externalId is."""
    names: str = "lower"
    """How a target compares userNames and displayNames: ``"lower"`` (Unicode lower case,
    no casefold expansion: ``straße`` and ``STRASSE`` differ) or ``"exact"``."""


@dataclass(slots=True)
class RequestStats:
    """Requests a connector made, by API operation, and how often it was throttled."""

    requests: Counter[str] = field(default_factory=Counter)
    throttled: int = 0

    def count(self, operation: str, n: int = 1) -> None:
        self.requests[operation] += n
