"""The ``oci`` target: the hooks, the connectivity checks, the full read and the lookup."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scim2_models import Group, User

from provision import (
    Capabilities,
    Change,
    Check,
    Kind,
    Outcome,
    RequestStats,
    Role,
    Unreadable,
    hookimpl,
)
from provision.sandbox import Sandbox, require
from provision_oci import mapping
from provision_oci.client import OciClient, OciError
from provision_oci.domain import DomainProfile, learn
from provision_oci.settings import OciSettings
from provision_oci.writer import Writer

log = logging.getLogger(__name__)

TEST_TIMEOUT = 10.0
"""Seconds ``provision test`` waits for an answer (a run waits ``timeout``)."""
TEST_ATTEMPTS = 2

PAGE = 1000
"""The largest page a domain serves."""
MEMBER_PAGE = 10_000
"""Members asked for per page: the most a domain returns in one answer."""
READ_ATTEMPTS = 3
"""Whole reads of a collection before its reader settles for the union of what it saw."""
LOOKUP_BATCH = 50
"""Ids per filtered read of a lookup (``id eq "…" or …``)."""
GROUP_FIELDS = "displayName,externalId"


class OciTarget:
    """Oracle OCI IAM identity domain: users, groups and memberships over SCIM."""

    roles = frozenset({Role.TARGET})
    Settings = OciSettings
    capabilities = Capabilities(incremental=False)

    def __init__(self, settings: OciSettings) -> None:
        self.settings = settings
        self.client = OciClient(settings)
        self._profile: DomainProfile | None = None
        self._profile_lock = threading.Lock()
        self.recovery: dict[str, list[dict[str, Any]]] = {}
        """User id → the recovery emails the domain holds, kept by every emails PATCH."""

    def close(self) -> None:
        self.client.close()

    @staticmethod
    @hookimpl
    def provision_sandbox(port: int) -> Sandbox:
        """The emulator (`provision_oci.emulator`), imported here only: never in production."""
        require("oci", "provision-sync[sandbox]", "scim2_server", "werkzeug")
        from provision_oci.sandbox import OciSandbox

        return OciSandbox(port)

    @hookimpl
    def provision_request_stats(self) -> RequestStats:
        return self.client.stats

    @hookimpl
    def provision_identity(self) -> str:
        return self.settings.identity()

    def profile(self) -> DomainProfile:
        """The domain's settings and schema, learned on first use: once per run."""
        with self._profile_lock:
            if self._profile is None:
                self._profile = learn(self.client)
                log.info("Learned from the domain: %s", self._profile.summary())
            return self._profile

    @hookimpl
    def provision_normalize(self, kind: Kind, attributes: dict[str, Any]) -> dict[str, Any]:
        return self.profile().normalize(kind, attributes)

    @hookimpl
    def provision_write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
        writer = Writer(self.client, self.settings.notify_users, self.recovery, self.profile())
        return writer.write(changes)

    @hookimpl
    def provision_full_read(
        self, attributes: frozenset[str]
    ) -> Iterator[User[Any] | Group | Unreadable]:
        for data in self._all("/Users", _user_fields(attributes)):
            yield self._user(data)
        yield from self._with_members(self._unprotected(self._all("/Groups", GROUP_FIELDS)))

    @hookimpl
    def provision_lookup(
        self, kind: Kind, ids: list[str], attributes: frozenset[str]
    ) -> Iterator[User[Any] | Group | Unreadable]:
        """The objects of ``ids`` that exist, read as the full read reads them."""
        if kind is Kind.USER:
            for data in self._by_id("/Users", _user_fields(attributes), ids):
                yield self._user(data)
        else:
            yield from self._with_members(
                self._unprotected(self._by_id("/Groups", GROUP_FIELDS, ids))
            )

    def _user(self, data: dict[str, Any]) -> User[Any] | Unreadable:
        """The user as compared; its recovery emails remembered for the writer."""
        recovery = mapping.recovery_emails(data)
        if recovery:
            self.recovery[str(data.get("id"))] = recovery
        return mapping.user_from_oci(data, self.profile().rules.read_only)

    def _unprotected(self, groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Groups without the protected ones (``protected_groups``): the engine never sees
        those, so it never adopts, changes or deletes them, and their members are not read."""
        kept = []
        for group in groups:
            if self.settings.is_protected(group.get("displayName")):
                log.debug("Leaving out the protected group %r", group.get("displayName"))
                continue
            kept.append(group)
        return kept

    def _with_members(self, groups: list[dict[str, Any]]) -> Iterator[Group]:
        """Groups with their members, read concurrently (list calls never carry members)."""
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="oci-read") as pool:
            for data, members in zip(groups, pool.map(self._members, groups), strict=True):
                yield mapping.group_from_oci(data, members)

    def _all(self, path: str, attributes: str) -> Iterator[dict[str, Any]]:
        """Every resource of ``path``, each once, even while others create and delete.

        The domain pages by offset: an object deleted while the pages are read shifts the
        later pages, and the object that slides from one page onto the previous one is never
        seen. A read is settled when every page reported the same ``totalResults`` and that
        many distinct ids arrived; else it is read again, up to `READ_ATTEMPTS` times. What
        one attempt yields is not yielded again, so an unsettled read ends with the union of
        all attempts. It can still miss an object when a create and a delete cancel out
        between two pages: the engine's lookup by id covers the linked ones.
        """
        collection = path.strip("/")
        # Sorted by the immutable id, so a rename never moves an object between pages.
        # sortBy/sortOrder as Oracle's SDK sends them: IdentityDomainsClient.list_users and
        # list_groups (oci 2.189) map sort_by/sort_order to the query parameters sortBy and
        # sortOrder, the latter one of "ASCENDING", "DESCENDING"; the User and Group models
        # mark id idcsSearchable, returned always, "a stable, non-reassignable identifier".
        params = {
            "attributes": attributes,
            "count": PAGE,
            "sortBy": "id",
            "sortOrder": "ASCENDING",
        }
        seen: set[str] = set()
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                settled = yield from self._pages(path, params, seen)
            except OciError as err:
                # No source confirms that every domain sorts by id: if one refuses, read
                # unsorted (the totals check and the engine's lookup by id still hold).
                if err.status != 400 or "sortBy" not in params or seen:
                    raise
                log.warning(
                    "The domain refused to sort %s by id (%s); reading them unsorted.",
                    collection,
                    err,
                )
                params = {k: v for k, v in params.items() if k not in ("sortBy", "sortOrder")}
                settled = yield from self._pages(path, params, seen)
            if settled:
                return
            if attempt < READ_ATTEMPTS:
                log.info(
                    "The domain's %s changed while they were read (attempt %d of %d); "
                    "reading them again",
                    collection,
                    attempt,
                    READ_ATTEMPTS,
                )
        log.warning(
            "The domain's %s kept changing while they were read (%d attempts): this run "
            "works from every one of the %d %s the reads saw. Someone else is creating or "
            "deleting %s in the domain; a %s this run missed is read again on the next run.",
            collection,
            READ_ATTEMPTS,
            len(seen),
            collection.lower(),
            collection.lower(),
            collection.lower().rstrip("s"),
        )

    def _pages(
        self, path: str, params: dict[str, Any], seen: set[str]
    ) -> Generator[dict[str, Any], None, bool]:
        """One read of every page (the first, then the rest concurrently); yields the
        resources not in ``seen`` and adds them; returns whether the read was settled."""
        ids: set[str] = set()
        totals: set[int] = set()

        def page(start: int) -> dict[str, Any]:
            return dict(
                self.client.scim("GET", path, params={**params, "startIndex": start}).json()
            )

        def unseen(answer: dict[str, Any]) -> Iterator[dict[str, Any]]:
            totals.add(int(answer.get("totalResults") or 0))
            for resource in answer.get("Resources") or []:
                rid = str(resource.get("id"))
                ids.add(rid)
                if rid not in seen:
                    seen.add(rid)
                    yield resource

        first = page(1)
        yield from unseen(first)
        total = int(first.get("totalResults") or 0)
        size = max(1, int(first.get("itemsPerPage") or len(first.get("Resources") or []) or PAGE))
        starts = range(1 + size, total + 1, size)
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="oci-page") as pool:
            for answer in pool.map(page, starts):
                yield from unseen(answer)
        return totals == {total} and len(ids) == total

    def _by_id(self, path: str, attributes: str, ids: list[str]) -> Iterator[dict[str, Any]]:
        """The resources of ``path`` whose id is in ``ids``: one filtered read per batch."""
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            query = " or ".join(f'id eq "{mapping.escape(i)}"' for i in batch)
            params = {"attributes": attributes, "filter": query, "count": LOOKUP_BATCH}
            answer = self.client.scim("GET", path, params=params).json()
            resources = list(answer.get("Resources") or [])
            if int(answer.get("totalResults") or 0) > len(resources):
                raise OciError(
                    0,
                    f"The domain answered a lookup of {len(batch)} {path.strip('/')} by id with "
                    f"{len(resources)} of {answer.get('totalResults')} results: it did not "
                    "say which of them exist. Run again; if it persists, report the "
                    "domain's answer.",
                )
            asked = set(batch)
            for resource in resources:
                if resource.get("id") in asked:
                    asked.discard(resource["id"])
                    yield resource

    def _members(self, group: dict[str, Any]) -> list[str]:
        """A group's member ids, always with Oracle's pagination filter, page by page.

        SDK get_group/list_groups docstrings: an answer of more than 10,000 members throws,
        "use the pagination filter to GET or SEARCH group members". A page shorter than asked
        for is the last one, so a group of up to `MEMBER_PAGE` - 1 members costs one request.
        """
        path = f"/Groups/{group['id']}"
        members: list[str] = []
        start = 1
        while True:
            page = f"members[startIndex={start}&count={MEMBER_PAGE}]"
            answer = self.client.scim("GET", path, params={"attributes": page}).json()
            more = mapping.member_ids(answer)
            members += more
            if len(more) < MEMBER_PAGE:
                return members
            start += len(more)

    @hookimpl
    def provision_test(self) -> list[Check]:
        # A short leash: a silent network must be reported in seconds, not after 6 x 60 s.
        probe = OciClient(
            self.settings.model_copy(update={"timeout": min(self.settings.timeout, TEST_TIMEOUT)}),
            transport_attempts=TEST_ATTEMPTS,
        )
        probe.stats, probe.limiters = self.client.stats, self.client.limiters  # one domain
        try:
            checks = Connectivity(probe).run()
        finally:
            probe.close()
        if all(c.ok for c in checks):
            checks.append(Check("domain learned", True, self.profile().summary(), ""))
        return checks


def _user_fields(attributes: frozenset[str]) -> str:
    """The ``attributes`` query parameter of a user read: what the engine compares."""
    wanted = {"userName", "externalId", "active"} | (set(attributes) & mapping.USER_ATTRIBUTES)
    return ",".join(sorted(wanted))


class Connectivity:
    """The checks behind ``provision test oci``: each failure says what to fix."""

    def __init__(self, client: OciClient) -> None:
        self.client = client
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool, message: str, hint: str = "") -> bool:
        self.checks.append(Check(name, ok, message, "" if ok else hint))
        return ok

    def run(self) -> list[Check]:
        s = self.client.settings
        try:
            self.client.token(renew=True)
        except OciError as err:
            if err.status == 0:
                self.add(
                    "domain answers",
                    False,
                    str(err),
                    f"Check domain_url ({s.domain_url}), this machine's route to it, and "
                    "ca_bundle if the domain's certificate is signed by a private CA.",
                )
            elif err.status in (400, 401):
                self.add("domain answers", True, f"{s.domain_url} answered")
                self.add(
                    "token granted",
                    False,
                    str(err),
                    "Check client_id and client_secret; the confidential application must "
                    "be activated and allow the Client Credentials grant.",
                )
            else:
                self.add("domain answers", False, str(err), "Is domain_url an identity domain?")
            return self.checks
        self.add("domain answers", True, f"{s.domain_url} answered")
        self.add("token granted", True, f"client {s.client_id} has a token")
        try:
            spc = self.client.read_service_provider_config()
        except OciError as err:
            self.add("service provider config", False, str(err), _role_hint(err))
            spc = None
        if spc is not None:
            bulk, patch = spc.get("bulk") or {}, spc.get("patch") or {}
            filt = spc.get("filter") or {}
            self.add(
                "service provider config",
                True,
                f"bulk {'yes' if bulk.get('supported') else 'no'} (maxOperations "
                f"{bulk.get('maxOperations')}, maxPayloadSize {bulk.get('maxPayloadSize')}), "
                f"patch {'yes' if patch.get('supported') else 'no'}, filter maxResults "
                f"{filt.get('maxResults')}; writes will use "
                f"{'Bulk' if self.client.bulk_limits() else 'one request per change'}",
            )
        for resource in ("Users", "Groups"):
            try:
                answer = self.client.scim(
                    "GET", f"/{resource}", params={"count": 1, "attributes": "id"}
                ).json()
            except OciError as err:
                self.add(f"{resource} listable", False, str(err), _role_hint(err))
                continue
            self.add(
                f"{resource} listable",
                True,
                f"{answer.get('totalResults', 0)} {resource.lower()} in the domain",
            )
        return self.checks


def _role_hint(err: OciError) -> str:
    if err.status == 403:
        return (
            "Grant the confidential application the User Administrator app role "
            "(Users, Groups, Bulk, UserStatusChanger); User Manager cannot create groups."
        )
    return "See the domain's answer above."
