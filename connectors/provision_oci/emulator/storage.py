"""The in-memory storage with the domain's rules on every write."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Union, cast

from scim2_models import (
    GroupMembership,
    InvalidValueException,
    Resource,
    ResourceType,
    ScimFilter,
    SearchRequest,
    User,
)
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator
from scim2_models.resources.group import GroupMember
from scim2_server.memory import InMemoryStorage
from scim2_server.storage import SearchPage
from scim2_server.utils import parametrize

if TYPE_CHECKING:
    from scim2_models import ResponseParameters

from provision_oci.emulator.rules import (
    add_recovery_email,
    check_canonical,
    check_emails,
    compute_read_only,
)
from provision_oci.emulator.schema import Group

# Storage -------------------------------------------------------------------------------------


def ids_asked(search_request: SearchRequest[Any]) -> list[str] | None:
    """The ids of a filter made only of ``id eq "…"`` joined by ``or``, in order, each once;
    None for any other filter (or none). ``id`` is caseExact (RFC 7643 §3.1): a plain
    string comparison is what matching would do."""
    scim_filter = search_request.filter
    if scim_filter is None:
        return None
    node = scim_filter.ast
    terms = (
        node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_ else (node,)
    )
    ids: list[str] = []
    for term in terms:
        if not (
            isinstance(term, Comparison)
            and term.op == CompareOperator.eq
            and isinstance(term.value, str)
            and term.attr_path.uri is None
            and term.attr_path.sub_attr is None
            and term.attr_path.attr.lower() == "id"
        ):
            return None
        ids.append(term.value)
    return list(dict.fromkeys(ids))


class OciStorage(InMemoryStorage):
    """scim2-server's in-memory storage with the domain's rules on users and groups.

    It checks the primary e-mail and the group members on every write (create, PUT, PATCH,
    bulk alike: they all end here), keeps membership both ways (``groups`` on users is
    computed, a deleted user leaves its groups) and fills members' ``display`` and ``$ref``.
    Seed it over HTTP: the ``resources`` setter bypasses these indexes.

    Reads that only answer a GET (a search, a get with ``response_parameters``) return the
    stored resources themselves, without ``groups``/``members`` decoration: scim2-server's deep
    copy of every resource was most of a list's cost, and such a read is only serialised, never
    changed (`OciService.view` adds ``groups`` and ``members`` from `computed`). A write never
    changes a stored resource in place: scim2-server's create and update store new objects, so
    a stored object stands for one version of its resource. Change nothing on them.
    """

    def __init__(self, on_user_created: Callable[[Resource[Any]], None]) -> None:
        super().__init__()
        self.on_user_created = on_user_created
        self.primary_email_required = True
        """The domain's IdentitySettings.primaryEmailRequired."""
        self.user_display: dict[str, str] = {}
        self.group_display: dict[str, str] = {}
        self.memberships: dict[str, set[str]] = {}
        """User id → ids of the groups it is a member of."""
        self.group_members: dict[str, set[str]] = {}
        self.group_type: ResourceType | None = None

    # Writes
    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with self.lock:
            resource = self._checked(resource_type, resource)
            if resource_type.name == "User":
                add_recovery_email(cast(User[Any], resource))
            created = super().create(resource_type, resource)
            self._index(created)
            if resource_type.name == "User":
                self.on_user_created(created)
            return self._decorate(created)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        with self.lock:
            resource = self._checked(resource_type, resource)
            updated = super().update(resource_type, resource, expected_version=expected_version)
            self._index(updated)
            return self._decorate(updated)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        with self.lock:
            super().delete(resource_type, resource_id, expected_version=expected_version)
            if resource_type.name == "User":
                self.user_display.pop(resource_id, None)
                for group_id in sorted(self.memberships.pop(resource_id, set())):
                    self._drop_member(group_id, resource_id)
            else:
                self.group_display.pop(resource_id, None)
                for user_id in self.group_members.pop(resource_id, set()):
                    self.memberships.get(user_id, set()).discard(resource_id)

    # Reads
    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        """A decorated deep copy to change (PUT, PATCH), the stored resource itself to answer a
        GET (the handler's query passes ``response_parameters``, and only then)."""
        with self.lock:
            if response_parameters is None:
                return self._decorate(super().get(resource_type, resource_id))
            return self._stored(resource_type, resource_id)

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """scim2-server's search, without its costs where the outcome is the same.

        Without ``sortBy`` scim2-server orders by id, and ``sortBy=id`` (what the connector
        sends) orders by id too: such a search sorts by the id itself instead of resolving
        the sort attribute on every resource of every page; ``id eq "…" or …`` (the
        connector's lookups) takes the ids from the index instead of matching every
        resource. Cursors and other sorts go scim2-server's way. The page holds the stored
        resources themselves, undecorated (see the class).
        """
        with self.lock:
            sort_by = str(search_request.sort_by or "id").lower()
            if search_request.cursor is not None or sort_by != "id":
                page = super().search(resource_types, search_request, position=position)
                page.resources = [self._original(resource) for resource in page.resources]
                return page
            names = list(dict.fromkeys(rt.name for rt in resource_types))
            wanted = ids_asked(search_request)
            if wanted is not None and len(names) == 1:
                stored = self._resources.get(names[0], {})
                found = [stored[rid] for rid in wanted if rid in stored]
            else:
                found = self._matching(names, search_request)
            found.sort(key=attrgetter("id"))
            if (
                search_request.sort_by is not None
                and search_request.sort_order == SearchRequest.SortOrder.descending
            ):
                found.reverse()
            start = search_request.start_index_0 or 0
            stop = None if search_request.count is None else start + search_request.count
            return SearchPage(len(found), found[start:stop])

    def _original(self, resource: Resource[Any]) -> Resource[Any]:
        """The stored resource a copy was made of."""
        assert resource.meta is not None
        return self._resources[resource.meta.resource_type][cast(str, resource.id)]

    def _matching(self, names: list[str | None], search_request: SearchRequest[Any]) -> list[Any]:
        """The stored resources of ``names`` that match the request's filter, unsorted."""
        scim_filter = search_request.filter
        candidates = self._candidates(names, scim_filter)
        if scim_filter is not None and not scim_filter.models and candidates:
            models = tuple(dict.fromkeys(type(r) for r in candidates))
            scim_filter = parametrize(ScimFilter, Union[models])(str(scim_filter))  # noqa: UP007
        return [r for r in candidates if scim_filter is None or scim_filter.match(r)]

    def stored(self, name: str) -> list[Resource[Any]]:
        """The resources of one type, decorated as a GET shows them, oldest first."""
        with self.lock:
            found = [r for r in self.resources if r.meta and r.meta.resource_type == name]
            found.sort(key=lambda r: (str(r.meta.created if r.meta else ""), str(r.id)))
            return [self._decorate(r.model_copy(deep=True)) for r in found]

    def decorated(self, resource: Resource[Any]) -> Resource[Any]:
        """A deep copy of a stored resource with what a read shows (scim2-server's view)."""
        with self.lock:
            return self._decorate(resource.model_copy(deep=True))

    def computed(self, resource: Resource[Any]) -> list[tuple[str, str | None]]:
        """What a read adds to a stored resource, as (id, display) pairs: a user's groups
        (sorted by id), a group's members (in stored order). `_decorate` as plain data."""
        with self.lock:
            if resource.meta and resource.meta.resource_type == "User":
                gids = sorted(self.memberships.get(cast(str, resource.id), ()))
                return [(gid, self.group_display.get(gid)) for gid in gids]
            display = self.user_display
            return [
                (cast(str, m.value), display.get(cast(str, m.value)))
                for m in cast(Group, resource).members or ()
            ]

    # Rules
    def _checked(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        resource = resource.model_copy(deep=True)
        if resource_type.name == "User":
            check_emails(resource, self.primary_email_required)
            check_canonical(resource)
            compute_read_only(cast(User[Any], resource))
            cast(User[Any], resource).groups = None  # computed on read
        else:
            group = cast(Group, resource)
            group.members = self._checked_members(group.members)
        return resource

    def _checked_members(self, members: list[GroupMember] | None) -> list[GroupMember] | None:
        """Members as stored: known users only, once each, without what a read fills in."""
        kept: dict[str, GroupMember] = {}
        for member in members or []:
            if member.value not in self.user_display:
                raise InvalidValueException(
                    detail=f"Member {member.value!r} is not a user of this domain."
                )
            if member.type not in (None, "User"):
                raise InvalidValueException(detail="Only users can be members of a group.")
            if member.value not in kept:
                plain = (
                    member.ref is None
                    and member.display is None
                    and member.type == "User"
                    and not getattr(member, "_unknown_attributes", None)
                )
                # the resource is already a copy: a member with nothing to strip is kept
                kept[member.value] = (
                    member if plain else GroupMember(value=member.value, type="User")
                )
        return list(kept.values()) or None

    def _index(self, resource: Resource[Any]) -> None:
        rid = cast(str, resource.id)
        if resource.meta and resource.meta.resource_type == "User":
            user = cast(User[Any], resource)
            self.user_display[rid] = user.display_name or user.user_name or rid
            return
        group = cast(Group, resource)
        self.group_display[rid] = group.display_name or rid
        members = {cast(str, m.value) for m in group.members or []}
        for user_id in self.group_members.get(rid, set()) - members:
            self.memberships.get(user_id, set()).discard(rid)
        for user_id in members:
            self.memberships.setdefault(user_id, set()).add(rid)
        self.group_members[rid] = members

    def _drop_member(self, group_id: str, user_id: str) -> None:
        """Take a deleted user out of a group, as OCI does."""
        group_type = cast(ResourceType, self.group_type)
        group = cast(Group, InMemoryStorage.get(self, group_type, group_id))
        group.members = [m for m in group.members or [] if m.value != user_id] or None
        InMemoryStorage.update(self, group_type, group)
        self.group_members.get(group_id, set()).discard(user_id)

    def _decorate(self, resource: Resource[Any]) -> Resource[Any]:
        """Fill in what a read shows and the storage does not keep."""
        if resource.meta and resource.meta.resource_type == "User":
            user = cast(User[Any], resource)
            group_ids = sorted(self.memberships.get(cast(str, user.id), set()))
            user.groups = [
                GroupMembership(
                    value=gid,
                    ref=f"Groups/{gid}",
                    display=self.group_display.get(gid),
                    type="direct",
                )
                for gid in group_ids
            ] or None
            return user
        group = cast(Group, resource)
        if group.members:
            group.members = [
                GroupMember(
                    value=m.value,
                    ref=f"Users/{m.value}",
                    type="User",
                    display=self.user_display.get(cast(str, m.value)),
                )
                for m in group.members
            ]
        return group
