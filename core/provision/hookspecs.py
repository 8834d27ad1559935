"""The hooks every connector implements.

The core builds one connector instance per configured endpoint and registers it in a
`pluggy.PluginManager` of that endpoint's own, so a hook call reaches exactly one connector
and no implementation ever asks "is this call for me?". Every hook is `firstresult`: the
call returns the connector's answer itself, not a list. Observer plugins registered beside
the connector (audit, metrics, mapping tweaks) may wrap a hook with
``@hookimpl(wrapper=True)`` and see or alter what passes through.

Required: `provision_test` for every connector, `provision_full_read` for sources and
targets, `provision_write` for targets. `provision_normalize` and `provision_lookup`
(targets), `provision_identity` and `provision_request_stats` are optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scim2_models import Group, User

    from provision.contract import Change, Check, Kind, Outcome, RequestStats, Role, Unreadable

PROJECT = "provision"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class ConnectorSpec:
    """The connector contract: test, full read, write."""

    @hookspec(firstresult=True)
    def provision_test(self) -> list[Check]:  # type: ignore[empty-body]
        """Check connectivity and permissions, one `Check` per thing that can go wrong.

        Called by ``provision test NAME`` and before every run. It must not write anything and
        should finish in seconds. A failed check carries a ``hint`` that tells the operator
        what to fix. Do not raise: turn every failure into a failed check.

        Returns the list of checks (first result wins).

        **Example**::

            @hookimpl
            def provision_test(self) -> list[Check]:
                try:
                    self.client.ping()
                except PermissionError as err:
                    return [Check("api reachable", False, str(err), hint="Grant the read role.")]
                return [Check("api reachable", True, "answered in 12 ms")]
        """

    @hookspec(firstresult=True)
    def provision_full_read(  # type: ignore[empty-body]
        self, role: Role, attributes: frozenset[str]
    ) -> Iterable[User[Any] | Group | Unreadable]:
        """Yield every user and group the endpoint holds, as scim2-models objects.

        ``role`` says whether the endpoint is read as the source or the target of the run
        (it matters only to a connector that can be both). ``attributes`` names the SCIM
        attributes the engine compares (``userName``, ``emails``, extension URNs, …); a
        connector may use it to ask its API for less. Like any hook argument, both may be
        left out of an implementation's signature.

        A **source** sets ``external_id`` to its stable key for each object (Cognito: the
        user's ``sub``, the group's name), and each group's ``members[].value`` to those user
        keys. A **target** sets ``id`` to its own id, ``external_id`` to what it holds, and
        ``members[].value`` to its user ids.

        Stream: yield objects as they arrive and keep none, the engine reduces each to a few
        hundred bytes. Raise on any failure to read (an exception means the read is
        incomplete, and the engine then writes nothing). For one object that cannot be
        mapped, yield an `Unreadable` instead of raising, so the rest still sync and the
        object's target counterpart is left alone. A source that has not verified an
        object's identity (an unconfirmed sign-up) yields it wrapped in `Unverified`: it is
        synced, but never adopts an existing target object by name.

        **Example**::

            @hookimpl
            def provision_full_read(self) -> Iterator[User | Group | Unreadable]:
                for row in self.client.list_users():
                    yield User(external_id=row["id"], user_name=row["login"])
        """

    @hookspec(firstresult=True)
    def provision_write(self, changes: Iterable[Change]) -> Iterable[Outcome]:  # type: ignore[empty-body]
        """Apply ``changes`` to the target and yield one `Outcome` per change.

        The engine calls it once per phase, in dependency order: user creates and updates,
        then group creates and updates (group resources name members by target id), then
        membership changes, then deactivations and deletes. Within a call the connector may
        batch (SCIM Bulk), reorder or run changes concurrently, and may yield outcomes in any
        order, but must yield exactly one per change. A change that fails yields a failed
        outcome with a message for the operator; only a failure that dooms every remaining
        change (credentials revoked, target gone) may raise.

        What each change must do, so that a retried or repeated run converges:

        - ``create``: a successful outcome carries the new object's ``target_id``. When the
          name is already taken (an HTTP 409, or the same name found in a store with no
          server), answer with the existing id only if that object is this sync's own (its
          externalId is the change's ``key``: a retried create whose answer was lost);
          otherwise fail, naming the name: never take over an object someone else made.
        - ``update``: apply ``change.patch`` (a scim2-models `PatchOp`: ``patch.patch(model)``
          applies it to the object read as a model). ``resource`` is the whole desired object,
          for a target that can only replace; such a target reads the object first and keeps
          what the patch does not name: a group's members (they change only through
          ``add_members`` and ``remove_members``, and may have been added by hand) and every
          attribute the sync does not manage.
        - ``delete``: deleting what is already gone succeeds. A deleted user leaves every
          group it was in (a group never lists a member that does not exist).
        - ``add_members`` / ``remove_members``: adding a member that is already there, or
          removing one that is not, succeeds and changes nothing.
        - ``deactivate``, ``update`` and membership changes on an object that is gone fail
          (the next run notices and relinks).
        - Outcomes other than a create's need no ``target_id``; if they carry one, it is the
          change's.

        A target's `provision_full_read` may yield `Unreadable` (keyed by the target's id, or
        by any stable name when it has none) for an object it cannot map: the engine then
        leaves that object alone.

        **Example**::

            @hookimpl
            def provision_write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
                for change in changes:
                    try:
                        yield Outcome.succeeded(change, self.client.apply(change))
                    except ApiError as err:
                        yield Outcome.failed(change, f"{err}; check the object's attributes")
        """

    @hookspec(firstresult=True)
    def provision_normalize(self, kind: Kind, attributes: dict[str, Any]) -> dict[str, Any]:  # type: ignore[empty-body]
        """Return a source object's mapped attributes as this target will store them.

        Optional, for targets. ``attributes`` is the SCIM wire form of what the engine wants
        the target to hold (``{"userName": …, "emails": [...], …}``); answer with what the
        target will actually hold after writing it: defaults filled in, values it rewrites
        rewritten, attributes it cannot store left out. The engine compares the target's
        read with this, so a no-op run writes nothing, and it sends this in creates and
        updates. Called once per source object: keep it cheap and pure.

        **Example**::

            @hookimpl
            def provision_normalize(self, kind, attributes):
                if kind is Kind.USER and "name" not in attributes:
                    attributes["name"] = {"familyName": attributes["userName"]}  # required here
                return attributes
        """

    @hookspec(firstresult=True)
    def provision_lookup(  # type: ignore[empty-body]
        self, kind: Kind, ids: list[str], attributes: frozenset[str]
    ) -> Iterable[User[Any] | Group | Unreadable]:
        """Fetch by id the objects the engine linked but the full read did not return.

        Optional, for targets whose full read may miss an object (paged reads while another
        administrator deletes, offsets that shift). The engine calls it once per kind with
        the ids of linked objects that were missing from the read, before it believes any of
        them gone. Yield each object that exists, exactly as `provision_full_read` would (a
        group with its members); leave out the ids that do not exist. Raise when the answer
        is unknown (a request failed): the engine then leaves those objects alone this run
        and says so, rather than unlink them.

        A target without this hook promises that its full read is a consistent snapshot:
        an object missing from it is gone.

        **Example**::

            @hookimpl
            def provision_lookup(self, kind, ids):
                for chunk in batched(ids, 50):
                    yield from self.client.search(kind, " or ".join(f'id eq "{i}"' for i in chunk))
        """

    @hookspec(firstresult=True)
    def provision_identity(self) -> str | None:
        """Name the system this endpoint reaches, stably and without secrets.

        Optional. The state file records both ends' identities beside their links, so that
        renaming a table keeps the links and a state file meant for another pool or domain is
        refused by name. Answer from the settings, without a request: Cognito
        ``cognito-idp:eu-west-1:eu-west-1_AbC``, OCI the domain URL, a file its absolute path.
        ``None`` (or no hook) falls back to the endpoint's table name.

        **Example**::

            @hookimpl
            def provision_identity(self) -> str:
                return f"ldap:{self.settings.url}/{self.settings.base_dn}"
        """

    @hookspec(firstresult=True)
    def provision_request_stats(self) -> RequestStats | None:
        """Return the requests made so far by API operation, and the throttled count.

        Optional. The run report shows them under ``requests`` and ``throttled``.

        **Example**::

            @hookimpl
            def provision_request_stats(self) -> RequestStats:
                return self.stats  # RequestStats updated by the client on every call
        """


REQUIRED_HOOKS: dict[str, tuple[str, ...]] = {
    "any": ("provision_test",),
    "source": ("provision_full_read",),
    "target": ("provision_full_read", "provision_write"),
}
"""Hooks a connector must implement, by role."""


# Sandboxes: a local stand-in of the connector's system -------------------------------------

if TYPE_CHECKING:
    from provision.sandbox import Sandbox


class SandboxSpec:
    """The optional sandbox hook, called on the connector class before any endpoint exists."""

    @hookspec(firstresult=True)
    def provision_sandbox(self, port: int) -> Sandbox:  # type: ignore[empty-body]
        """Return a local stand-in of this connector's system, not yet started.

        Optional. Implement it as a ``@staticmethod`` on the connector class: it is called
        before any endpoint is configured, by ``provision sandbox NAME`` (serve it for an
        author or operator to try against) and by ``provision demo`` (compose the source's and
        target's). ``port`` is where to listen on 127.0.0.1, ``0`` for a free port. Return a
        `provision.sandbox.Sandbox` (a `provision.sandbox.SourceSandbox` for a source the demo
        can seed and change). Import the stand-in inside the hook, never at module level, so
        production never loads it, and call `provision.sandbox.require` first so that a
        missing extra is reported by name.

        **Example**::

            @staticmethod
            @hookimpl
            def provision_sandbox(port: int) -> Sandbox:
                require("csv", "provision-example[sandbox]", "werkzeug")
                from provision_example.sandbox import CsvSandbox  # only when asked for

                return CsvSandbox(port)
        """
