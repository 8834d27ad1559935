"""The ``oci`` target: the hooks, the connectivity checks and the full read."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
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
from provision_oci.settings import OciSettings
from provision_oci.writer import Writer

log = logging.getLogger(__name__)

PAGE = 1000
"""The largest page a domain serves."""
MEMBER_PAGE = 10_000
"""Members a domain returns in one answer; bigger groups are paged."""


class OciTarget:
    """Oracle OCI IAM identity domain: users, groups and memberships over SCIM."""

    roles = frozenset({Role.TARGET})
    Settings = OciSettings
    capabilities = Capabilities(incremental=False)

    def __init__(self, settings: OciSettings) -> None:
        self.settings = settings
        self.client = OciClient(settings)

    def close(self) -> None:
        self.client.close()

    @staticmethod
    @hookimpl
    def provision_sandbox(port: int) -> Sandbox:
        """The emulator (`provision_oci.emulator`), imported here only: never in production."""
        require("oci", "provision[sandbox]", "scim2_server", "werkzeug")
        from provision_oci.sandbox import OciSandbox

        return OciSandbox(port)

    @hookimpl
    def provision_request_stats(self) -> RequestStats:
        return self.client.stats

    @hookimpl
    def provision_normalize(self, kind: Kind, attributes: dict[str, Any]) -> dict[str, Any]:
        return mapping.normalize(kind, attributes)

    @hookimpl
    def provision_write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
        return Writer(self.client, self.settings.notify_users).write(changes)

    @hookimpl
    def provision_full_read(
        self, attributes: frozenset[str]
    ) -> Iterator[User[Any] | Group | Unreadable]:
        wanted = sorted(
            {"userName", "externalId", "active"} | (set(attributes) & mapping.USER_ATTRIBUTES)
        )
        for data in self._all("/Users", ",".join(wanted)):
            yield mapping.user_from_oci(data)
        groups = list(self._all("/Groups", "displayName,externalId"))
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="oci-read") as pool:
            for data, members in zip(groups, pool.map(self._members, groups), strict=True):
                yield mapping.group_from_oci(data, members)

    def _all(self, path: str, attributes: str) -> Iterator[dict[str, Any]]:
        """Every resource of ``path``: the first page, then the rest of them concurrently."""
        params = {"attributes": attributes, "count": PAGE}
        first = self.client.scim("GET", path, params={**params, "startIndex": 1}).json()
        yield from first.get("Resources") or []
        total = int(first.get("totalResults") or 0)
        size = max(1, int(first.get("itemsPerPage") or len(first.get("Resources") or []) or PAGE))
        starts = range(1 + size, total + 1, size)

        def page(start: int) -> list[dict[str, Any]]:
            answer = self.client.scim("GET", path, params={**params, "startIndex": start}).json()
            return list(answer.get("Resources") or [])

        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="oci-page") as pool:
            for resources in pool.map(page, starts):
                yield from resources

    def _members(self, group: dict[str, Any]) -> list[str]:
        """A group's member ids: one request, more pages only past 10,000 members."""
        path = f"/Groups/{group['id']}"
        answer = self.client.scim("GET", path, params={"attributes": "members"}).json()
        members = mapping.member_ids(answer)
        start = len(members) + 1
        while len(members) >= MEMBER_PAGE and len(members) % MEMBER_PAGE == 0:
            page = f"members[startIndex={start}&count={MEMBER_PAGE}]"
            more = mapping.member_ids(
                self.client.scim("GET", path, params={"attributes": page}).json()
            )
            if not more:
                break
            members += more
            start += len(more)
        return members

    @hookimpl
    def provision_test(self) -> list[Check]:
        return Connectivity(self.client).run()


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
            spc = self.client.service_provider_config()
        except OciError as err:
            self.add("service provider config", False, str(err), _role_hint(err))
            return self.checks
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
