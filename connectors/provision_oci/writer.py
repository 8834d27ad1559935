"""Applying changes to a domain: SCIM Bulk when offered, else one request each, concurrently.

Creates, updates, membership changes and deactivations are packed into Bulk requests of at
most min(50, maxOperations) operations and maxPayloadSize bytes, one Bulk request at a time
(the domain serialises bulk work). Deletes are single ``DELETE …?forceDelete=true`` requests.
A create answered 409 (the object exists: a lost answer retried, or a user the read missed)
is linked to the existing object; the domain's unique ``userName`` and ``displayName`` mean a
retried create can never make a duplicate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from scim2_models import Group, User

from provision import Action, Change, Kind, Outcome
from provision_oci import mapping
from provision_oci.client import OciClient, OciError
from provision_oci.domain import DomainProfile
from provision_oci.mapping import escape

log = logging.getLogger(__name__)

INLINE_MEMBERS = 1000
"""Members sent with a group create; the rest follow as PATCHes."""
MEMBERS_PER_PATCH = 1000
ENVELOPE = 2_000
"""Bytes kept free in each Bulk payload for its envelope."""

Remedy = bool | OciError | None
"""What a remedy for a failed operation answers: not mine, recovered, or a better error."""


@dataclass
class Operation:
    """One Bulk operation, or one direct request, serving part of a change."""

    method: str
    path: str
    data: dict[str, Any] | None = None

    def bulk(self, bulk_id: str) -> dict[str, Any]:
        op: dict[str, Any] = {"method": self.method, "path": self.path, "bulkId": bulk_id}
        if self.data is not None:
            op["data"] = self.data
        return op


@dataclass
class Pending:
    """A change waiting for its operations' answers."""

    change: Change
    operations: list[Operation]
    left: int = 0
    target_id: str | None = None
    errors: list[str] = field(default_factory=list)
    later: list[Operation] = field(default_factory=list)
    """Operations that need the result of the first (a big group's remaining members)."""


class Writer:
    """One ``provision_write`` call."""

    def __init__(
        self,
        client: OciClient,
        notify_users: bool,
        recovery: dict[str, list[dict[str, Any]]] | None = None,
        profile: DomainProfile | None = None,
    ) -> None:
        self.client = client
        self.notify = notify_users
        self.recovery = recovery or {}
        """User id → recovery emails read from the domain: an emails PATCH sends them back."""
        self.profile = profile or DomainProfile.from_snapshot()

    def write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
        """Bulk requests go one at a time from a thread of their own: while one is in flight,
        the next is built and the last one's outcomes are recorded, so the domain's answer
        time and the Bulk budget, not this side's work, set the pace."""
        limits = self.client.bulk_limits()
        direct: list[Pending] = []
        bulked: list[Pending] = []
        with ThreadPoolExecutor(1, thread_name_prefix="oci-bulk") as sender:
            in_flight: Future[list[Outcome]] | None = None

            def send(batch: list[Pending]) -> Iterator[Outcome]:
                """Start ``batch`` once the request in flight is answered; its outcomes."""
                nonlocal in_flight
                previous, in_flight = in_flight, None
                done = previous.result() if previous is not None else []
                if batch and limits is not None:
                    in_flight = sender.submit(lambda: list(self._bulk(batch, *limits)))
                yield from done

            for change in changes:
                try:
                    pending = self._plan(change)
                except _Refused as why:
                    yield Outcome.failed(change, str(why))
                    continue
                use_bulk = limits is not None and change.action is not Action.DELETE
                (bulked if use_bulk else direct).append(pending)
                if limits is not None and len(bulked) >= limits[0]:
                    yield from send(bulked)
                    bulked = []
                if len(direct) >= 4 * self.client.settings.concurrency:
                    yield from self._direct(direct)
                    direct = []
            yield from send(bulked)
            yield from send([])
        if direct:
            yield from self._direct(direct)

    # What each change needs
    def _plan(self, change: Change) -> Pending:
        kind, action, tid = change.kind, change.action, change.target_id
        collection = "/Groups" if kind in (Kind.GROUP, Kind.MEMBERSHIP) else "/Users"
        ops: list[Operation] = []
        later: list[Operation] = []
        if action is Action.CREATE:
            resource = change.resource
            if isinstance(resource, User):
                why = self.profile.primary_email_required and mapping.missing_email(resource)
                if why:
                    raise _Refused(why)
                ops.append(Operation("POST", "/Users", mapping.user_payload(resource, self.notify)))
            elif isinstance(resource, Group):
                if self.client.settings.is_protected(resource.display_name):
                    raise _Refused(
                        f"group {resource.display_name!r} is one of the domain's protected "
                        "groups: the sync never adopts, creates or changes it. Rename the "
                        "source group, or remove the name from the [oci] protected_groups "
                        "setting if the domain's group is really yours to manage"
                    )
                members = [m.value for m in resource.members or () if m.value]
                ops.append(
                    Operation(
                        "POST", "/Groups", mapping.group_payload(resource, members[:INLINE_MEMBERS])
                    )
                )
                later = [
                    Operation("PATCH", "", mapping.patch_body([mapping.add_members(chunk)]))
                    for chunk in _chunks(members[INLINE_MEMBERS:], MEMBERS_PER_PATCH)
                ]
            else:
                raise _Refused("a create needs a user or group resource")
        elif action is Action.UPDATE:
            if change.patch is None:
                raise _Refused("an update needs a patch")
            operations = change.patch.model_dump(mode="json")["Operations"]
            if kind is Kind.USER and tid:
                operations = mapping.keep_recovery(operations, self.recovery.get(tid, []))
            ops.append(Operation("PATCH", f"{collection}/{tid}", mapping.patch_body(operations)))
        elif action is Action.DEACTIVATE:
            ops.append(
                Operation(
                    "PATCH",
                    f"/Users/{tid}",
                    mapping.patch_body([{"op": "replace", "path": "active", "value": False}]),
                )
            )
        elif action is Action.DELETE:
            ops.append(Operation("DELETE", f"{collection}/{tid}?forceDelete=true"))
        elif action is Action.ADD_MEMBERS:
            ops += [
                Operation(
                    "PATCH", f"/Groups/{tid}", mapping.patch_body([mapping.add_members(chunk)])
                )
                for chunk in _chunks(list(change.members), MEMBERS_PER_PATCH)
            ]
        elif action is Action.REMOVE_MEMBERS:
            ops += [
                Operation(
                    "PATCH",
                    f"/Groups/{tid}",
                    mapping.patch_body([mapping.remove_member(m) for m in chunk]),
                )
                for chunk in _chunks(list(change.members), MEMBERS_PER_PATCH)
            ]
        return Pending(change, ops, len(ops), tid, later=later)

    # Bulk
    def _bulk(self, pendings: list[Pending], max_ops: int, max_bytes: int) -> Iterator[Outcome]:
        queue = [(p, op) for p in pendings for op in p.operations]
        envelope = min(ENVELOPE, max_bytes // 10)
        while queue:
            batch: list[tuple[Pending, Operation]] = []
            size = envelope
            while queue and len(batch) < max_ops:
                op_size = len(json.dumps(queue[0][1].bulk("b0000"), separators=(",", ":")))
                if envelope + op_size > max_bytes:  # too big for any Bulk request: fails alone
                    pending, _ = queue.pop(0)
                    pending.errors.append(
                        f"{op_size} bytes: more than the domain's Bulk maxPayloadSize ({max_bytes})"
                    )
                    continue
                if batch and size + op_size > max_bytes:
                    break
                batch.append(queue.pop(0))
                size += op_size
            if batch:
                self._send_bulk(batch)
        for pending in pendings:
            yield self._finish(pending)

    def _send_bulk(self, batch: list[tuple[Pending, Operation]]) -> None:
        body = {
            "schemas": [mapping.BULK_REQUEST],
            "Operations": [op.bulk(f"b{i}") for i, (_, op) in enumerate(batch)],
        }
        try:
            answer = self.client.scim("POST", "/Bulk", category="bulk", body=body).json()
            returned = list(answer.get("Operations") or ())
        except Exception as err:  # a refusal, or an answer that is not a BulkResponse
            for pending, _ in batch:
                pending.errors.append(f"the Bulk request failed: {err}")
            return
        results = {str(r.get("bulkId")): r for r in returned if r.get("bulkId")}
        for i, (pending, op) in enumerate(batch):
            # RFC 7644 requires bulkId only for POST; answers come in the request's order.
            result = results.get(f"b{i}") or (returned[i] if i < len(returned) else None)
            if result is None:
                pending.errors.append("the domain's Bulk answer has no result for it")
                continue
            status = _status(result.get("status"))
            if 200 <= status < 300:
                pending.target_id = pending.target_id or _id_of(result)
                continue
            error = OciError.from_body(status, result.get("response"))
            self._recover(pending, op, error)

    # Direct requests, concurrently within the others budget
    def _direct(self, pendings: list[Pending]) -> Iterator[Outcome]:
        with ThreadPoolExecutor(
            self.client.settings.concurrency, thread_name_prefix="oci-write"
        ) as pool:
            futures: dict[Future[None], Pending] = {
                pool.submit(self._run_direct, p): p for p in pendings
            }
            while futures:
                done, _ = wait(futures, return_when="FIRST_COMPLETED")
                for future in done:
                    pending = futures.pop(future)
                    future.result()
                    yield self._finish(pending)

    def _run_direct(self, pending: Pending) -> None:
        for op in pending.operations:
            try:
                self._request(pending, op)
            except OciError as err:
                self._recover(pending, op, err)
            except Exception as err:  # an answer that is not what SCIM promises fails this one
                pending.errors.append(f"{type(err).__name__}: {err}")

    def _request(self, pending: Pending, op: Operation) -> None:
        method = op.method
        if pending.change.action is Action.DEACTIVATE and method == "PATCH":
            method, op = (
                "PUT",
                Operation(
                    "PUT",
                    f"/UserStatusChanger/{pending.target_id}",
                    {"schemas": [mapping.STATUS_CHANGER], "active": False},
                ),
            )
        response = self.client.scim(method, op.path, body=op.data)
        if method == "POST" and response.content:
            pending.target_id = str(response.json().get("id") or "") or None

    # Failures that have a remedy: each remedy answers None (not mine), True (recovered), or a
    # better error for the operator; the first that applies decides.
    def _recover(self, pending: Pending, op: Operation, error: OciError) -> None:
        for remedy in (self._adopt_own_create, self._use_status_changer, self._already_gone):
            answer = remedy(pending, op, error)
            if answer is True:
                return
            if isinstance(answer, OciError):
                error = answer
                break
        pending.errors.append(str(error))

    def _adopt_own_create(self, pending: Pending, op: Operation, error: OciError) -> Remedy:
        """A create answered 409 whose object is this sync's own (a lost answer): link it."""
        change = pending.change
        if change.action is not Action.CREATE or error.status != 409:
            return None
        existing, why = self._find(change)
        if not existing:
            return OciError(409, why or error.detail)
        pending.target_id = existing
        if isinstance(change.resource, Group) and change.resource.members:
            inline = [m.value for m in change.resource.members[:INLINE_MEMBERS] if m.value]
            pending.later.insert(
                0, Operation("PATCH", "", mapping.patch_body([mapping.add_members(inline)]))
            )
        return True

    def _use_status_changer(self, pending: Pending, op: Operation, error: OciError) -> Remedy:
        """A domain that refuses PATCH of ``active``: (de)activate through its status changer.

        A deactivation, or an update that sets ``active`` (a reactivation, or a user made
        inactive in the source): the update's other operations go as a PATCH of their own,
        then ``PUT /UserStatusChanger/{id}`` sets ``active``.
        """
        change = pending.change
        if op.method != "PATCH" or error.status != 400 or change.kind is not Kind.USER:
            return None
        operations = list((op.data or {}).get("Operations") or [])
        active = [o for o in operations if str(o.get("path") or "").lower() == "active"]
        if change.action is Action.DEACTIVATE:
            value, rest = False, []
        elif (
            change.action is Action.UPDATE and active and isinstance(active[-1].get("value"), bool)
        ):
            value = active[-1]["value"]
            rest = [o for o in operations if o not in active]
        else:
            return None
        try:
            if rest:
                self.client.scim("PATCH", op.path, body=mapping.patch_body(rest))
            self.client.scim(
                "PUT",
                f"/UserStatusChanger/{change.target_id}",
                body={"schemas": [mapping.STATUS_CHANGER], "active": value},
            )
        except OciError as err:
            return err
        return True

    @staticmethod
    def _already_gone(pending: Pending, op: Operation, error: OciError) -> Remedy:
        """Deleting what is already gone is what was asked for."""
        return True if pending.change.action is Action.DELETE and error.status == 404 else None

    def _find(self, change: Change) -> tuple[str | None, str]:
        """The object a create collided with, if it is this sync's own (same externalId).

        A 409 after a retried create means the first attempt went through: the object then
        carries this change's key. Any other object of that name is not ours to take.
        """
        resource = change.resource
        if isinstance(resource, User) and resource.user_name:
            what, path = f"user {resource.user_name!r}", "/Users"
            filt = f'userName eq "{escape(resource.user_name)}"'
        elif isinstance(resource, Group) and resource.display_name:
            what, path = f"group {resource.display_name!r}", "/Groups"
            filt = f'displayName eq "{escape(resource.display_name)}"'
        else:
            return None, ""
        try:
            found = self.client.scim(
                "GET", path, params={"filter": filt, "attributes": "id,externalId", "count": 2}
            ).json()
        except OciError as err:
            return None, f"{what} exists in the domain, and looking it up failed: {err}"
        resources = found.get("Resources") or []
        if len(resources) == 1 and resources[0].get("externalId") == change.key:
            return str(resources[0]["id"]), ""
        holder = resources[0].get("externalId") if resources else None
        return None, (
            f"{what} already exists in the domain and is not this sync's (externalId "
            f"{holder!r}): adopt it by name (the [sync] match_*_by setting) or rename one"
        )

    def _finish(self, pending: Pending) -> Outcome:
        change = pending.change
        if not pending.errors and pending.later and pending.target_id:
            for op in pending.later:  # the rest of a big new group's members
                try:
                    self.client.scim("PATCH", f"/Groups/{pending.target_id}", body=op.data)
                except OciError as err:
                    pending.errors.append(f"adding members after the create: {err}")
        if pending.errors:
            return Outcome.failed(change, "; ".join(dict.fromkeys(pending.errors)))
        if change.action is Action.CREATE and not pending.target_id:
            return Outcome.failed(change, "the domain created it but named no id")
        return Outcome.succeeded(change, pending.target_id)


class _Refused(Exception):
    """A change that cannot be sent as it is; the message says what to fix."""


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _status(value: Any) -> int:
    if isinstance(value, dict):
        value = value.get("code")
    try:
        return int(str(value))
    except ValueError:
        return 0


def _id_of(result: dict[str, Any]) -> str | None:
    response = result.get("response")
    if isinstance(response, dict) and response.get("id"):
        return str(response["id"])
    location = str(result.get("location") or "")
    return location.rstrip("/").rsplit("/", 1)[-1] or None
