"""The SCIM service (OCI's protocol differences) and the WSGI application at ``/admin/v1``
(tokens, app roles, UserStatusChanger, IdentitySettings, Schemas, one Bulk at a time)."""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from wsgiref.util import application_uri

from scim2_models import (
    Bulk,
    Context,
    ForbiddenException,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    Path,
    PayloadTooLargeException,
    Reference,
    Resource,
    ResourceType,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    UnauthorizedException,
    User,
)
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.bulk import BulkPlan
from scim2_server.conditions import Conditions
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from scim2_server.storage import SearchPage
from scim2_server.utils import parametrize

if TYPE_CHECKING:
    from scim2_models import BulkOperation, PatchOp, ResponseParameters

    from provision_oci.emulator.facade import OciEmulator

from provision_oci.emulator.rules import (
    OciError,
    active_violation,
    add_oracle_block,
    member_patch,
    scim_error,
    update_violation,
)
from provision_oci.emulator.schema import (
    DEFAULT_COUNT,
    IDENTITY_SETTINGS,
    IDENTITY_SETTINGS_ID,
    MEMBERS_PAGE,
    PROTECTED,
    STATUS_CHANGER,
    Group,
    list_response,
    schema_snapshot,
)
from provision_oci.emulator.storage import OciStorage
from provision_oci.emulator.views import projection

# SCIM service and application ---------------------------------------------------------------

Dump = dict[str, Any]

PUBLISHED = frozenset({"groups", "members"})
"""What `OciService.view` fills in from the storage's indexes, references included."""
COMPUTED_TYPE = {"groups": "direct", "members": "User"}
"""The ``type`` of a user's groups (a direct membership) and of a group's members (users)."""


Shape = tuple[tuple[str, ...], tuple[str, ...]]
"""A read's ``attributes`` and ``excludedAttributes``, as scim2-models' serializer gets them."""


def requested(parameters: ResponseParameters[Any] | None) -> Shape:
    if parameters is None:
        return (), ()
    return (
        tuple(str(a) for a in parameters.attributes or ()),
        tuple(str(a) for a in parameters.excluded_attributes or ()),
    )


def holds(value: Any, keys: tuple[str, ...]) -> bool:
    """Whether a dump holds a value at ``keys`` (through lists: any of their entries)."""
    if not keys:
        return value is not None
    if isinstance(value, list):
        return any(holds(entry, keys) for entry in value)
    return isinstance(value, dict) and holds(value.get(keys[0]), keys[1:])


class OciService(ScimService):
    """scim2-server's protocol with OCI's differences: default count 50, PATCH answers 200,
    bulk over 50 operations is ``tooMany``, updates refuse immutable and read-only values,
    and bulk can be switched off while running."""

    def __init__(self, emulator: OciEmulator, provider: ScimProvider) -> None:
        self.emulator = emulator
        self.message_ids: dict[int, str] = {}
        """Oracle message ids of failed bulk operations, by id() of their Error, until the
        bulk response is built (its model has no room for the Oracle block)."""
        self.dumps: dict[tuple[str, str], tuple[Resource[Any], str, bool, Dump | None]] = {}
        """(type, id) → (the stored resource, base URL, ETags on, its `plain` dump): one
        dump per stored version of a resource, whatever the reads ask for."""
        self.dumps_lock = threading.Lock()
        super().__init__(provider)

    @property
    def config(self) -> ServiceProviderConfig:
        if self.emulator.bulk:
            return self._config
        return self._config.model_copy(
            update={"bulk": Bulk(supported=False, max_operations=0, max_payload_size=0)}
        )

    @config.setter
    def config(self, value: ServiceProviderConfig) -> None:
        self._config = value

    def read_search(
        self, resource_types: list[ResourceType], payload: Any
    ) -> tuple[SearchRequest[Any], Any]:
        if isinstance(payload, dict) and not any(k.lower() == "count" for k in payload):
            payload = {**payload, "count": DEFAULT_COUNT}
        if isinstance(payload, dict):
            # RFC 7644 §3.4.2.3 spells sortOrder "ascending"/"descending"; Oracle's SDK
            # (IdentityDomainsClient.list_users, oci 2.189) allows only "ASCENDING" and
            # "DESCENDING" and sends them as they are: the domain takes either spelling.
            payload = {
                k: v.lower() if k.lower() == "sortorder" and isinstance(v, str) else v
                for k, v in payload.items()
            }
        return super().read_search(resource_types, payload)

    def search_response(
        self,
        base_url: str,
        resource_types: list[ResourceType],
        page: SearchPage,
        search_request: SearchRequest[Any],
    ) -> ScimResponse:
        """The ListResponse of a page, each resource dumped once as the request asks.

        scim2-server dumps each resource, validates the dumps back into a ListResponse and
        dumps that again: three passes over 1,000 users a page, and the second one drops
        ``returned: request`` attributes (group ``members``). Here scim2-server builds the
        envelope of an empty page (totals, startIndex, cursors) and `view` fills it."""
        envelope = SearchPage(page.total, [], page.next, page.previous)
        response = super().search_response(base_url, resource_types, envelope, search_request)
        assert response.body is not None
        shape = requested(search_request)
        found = [self.view(base_url, r, search_request, shape) for r in page.resources]
        response.body["itemsPerPage"] = len(found)
        response.body["Resources"] = found
        return response

    def query_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
        conditions: Conditions,
    ) -> ScimResponse:
        """scim2-server's answer to a GET of one resource (or its 304), through `view`."""
        assert resource.meta is not None
        assert resource.id is not None
        if not self.check_preconditions(resource, "GET", conditions):
            # RFC 9110 §15.4.5: a 304 carries the ETag a 200 would have
            version = resource.meta.version if self.etag_supported else None
            return ScimResponse(HTTPStatus.NOT_MODIFIED, None, {"ETag": version} if version else {})
        location = self.resource_location(
            base_url, self.get_resource_type_of(resource), resource.id
        )
        headers = {"Content-Location": location}
        if resource.meta.version and self.etag_supported:
            headers["ETag"] = resource.meta.version
        return ScimResponse(
            HTTPStatus.OK, self.view(base_url, resource, response_parameters), headers
        )

    def view(
        self,
        base_url: str,
        resource: Resource[Any],
        parameters: ResponseParameters[Any] | None,
        shape: Shape | None = None,
    ) -> dict[str, Any]:
        """The resource as a GET or a list shows it with these ``attributes`` and
        ``excludedAttributes`` (``shape``: `requested`, once per list): what scim2-server's
        publish and dump would answer.

        ``resource`` is a stored resource (`OciStorage` hands them out for GETs and lists).
        Its plain dump is made once per stored version (`plain`), the keys the request keeps
        are decided once per request shape (`projection`), and ``groups``/``members`` come
        from the storage's indexes as plain data. A caller gets its own top-level dict
        (`OciApplication.finalize_response` slices its members); nested values are shared
        with the cache: change nothing in them."""
        plain = self.plain(base_url, resource)
        if plain is None:
            published = self.publish(base_url, self.emulator.storage.decorated(resource))
            return published.model_dump(
                scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
            )
        shown = projection(type(resource), *(shape or requested(parameters)))
        found = shown.resource(plain)
        for field in PUBLISHED:
            if field in shown.keep and field in type(resource).model_fields:
                entries = self.computed(base_url, resource, field)
                nested = shown.keep[field]
                kept = entries if nested is None else nested.value(entries)
                if kept:
                    found[field] = kept
        return found

    def plain(self, base_url: str, resource: Resource[Any]) -> Dump | None:
        """The stored resource published and dumped whole (``Context.DEFAULT``: nothing
        filtered), without ``groups``/``members``; cached until the resource is replaced.

        `publish` sets ``meta.location`` (and drops ``meta.version`` without ETags): done
        on the dump. None when the resource holds a reference other than groups/members (an
        enterprise ``manager``): `view` publishes such a resource scim2-server's way."""
        assert resource.meta is not None
        assert resource.id is not None
        key = (str(resource.meta.resource_type), resource.id)
        etag = self.etag_supported
        cached = self.dumps.get(key)
        if cached is not None and cached[0] is resource and cached[1:3] == (base_url, etag):
            return cached[3]
        dump: Dump | None = resource.model_dump(scim_ctx=Context.DEFAULT, exclude=set(PUBLISHED))
        assert dump is not None
        if any(holds(dump, keys) for keys in self._reference_keys(type(resource))):
            dump = None
        else:
            location = self.resource_location(
                base_url, self.get_resource_type_of(resource), resource.id
            )
            meta: Dump = {}
            for name, value in dump["meta"].items():  # in Meta's order: location, version
                if name == "version":
                    meta["location"] = location
                    if etag:
                        meta[name] = value
                elif name != "location":
                    meta[name] = value
            meta.setdefault("location", location)
            dump["meta"] = meta
        with self.dumps_lock:
            stored = sum(map(len, self.emulator.storage._resources.values()))
            if len(self.dumps) > 2 * stored + 1000:  # deleted resources' dumps
                self.dumps.clear()
            self.dumps[key] = (resource, base_url, etag, dump)
        return dump

    def computed(self, base_url: str, resource: Resource[Any], field: str) -> list[Dump]:
        """A user's ``groups`` or a group's ``members`` as `OciStorage._decorate` sets them
        and `publish` locates them, as plain data."""
        target = "Groups" if field == "groups" else "Users"
        location = self.resource_location(base_url, self.get_resource_type(target[:-1]), "")
        kind = COMPUTED_TYPE[field]
        entries = []
        for value, display in self.emulator.storage.computed(resource):
            entry: Dump = {"value": value, "$ref": location + value, "type": kind}
            if display is not None:
                entry["display"] = display
            entries.append(entry)
        return entries

    @functools.cache  # noqa: B019 (one service per emulator, a few models each)
    def _reference_keys(self, model: type[Resource[Any]]) -> tuple[tuple[str, ...], ...]:
        """`_other_references` as the keys of a dump: the extension's URN (for an attribute
        of an extension), then the attribute's and sub-attribute's names."""
        extensions = {model.__scim_info__.attribute_urns[n] for n in model.__scim_info__.extensions}
        found = []
        for path in self._other_references(model):
            urn, _, names = path.rpartition(":")
            found.append(((urn,) if urn in extensions else ()) + tuple(names.split(".")))
        return tuple(found)

    @functools.cache  # noqa: B019 (one service per emulator, a few models each)
    def _other_references(self, model: type[Resource[Any]]) -> tuple[str, ...]:
        """The paths of the references `publish` rewrites, other than groups/members."""
        found = []
        for path in parametrize(Path, model).iter_paths(target_type=[Reference]):
            binding = path.resolve()
            assert binding is not None
            types = set(cast(Any, binding.target_type).__reference_types__)
            if types and not types & {"external", "uri"} and path.parts[0] not in PUBLISHED:
                found.append(str(path))
        return tuple(found)

    def read_replacement(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        self._check_update(resource_type, "PUT", body)
        return super().read_replacement(resource_type, body, content_type)

    def read_patch(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> PatchOp[Any]:
        self._check_update(resource_type, "PATCH", body)
        return super().read_patch(resource_type, body, content_type)

    def _check_update(self, resource_type: ResourceType, method: str, body: bytes) -> None:
        try:
            data = json.loads(body or b"null")
        except ValueError as exception:
            raise InvalidSyntaxException(detail=str(exception)) from exception
        violation = update_violation(str(resource_type.name), method, data)
        if violation is None and self.emulator.status_changer_only:
            violation = active_violation(str(resource_type.name), method, data)
        if violation is not None:
            raise violation

    def apply_patch(
        self, current: Resource[Any], patch_op: PatchOp[Any], conditions: Any
    ) -> Resource[Any] | None:
        """scim2-server's PATCH, with a fast path for member adds and removes by value.

        scim2-models evaluates each ``members[value eq "…"]`` filter against every member
        (a PATCH of 1,000 removes on a group of 1,000 took 15 s); `member_patch` applies the
        same operations with the same outcome (an add skips present members, a remove that
        matches nothing changes nothing) through a set. Any other PATCH goes the usual way.
        """
        if isinstance(current, Group):
            fast = member_patch(current, patch_op)
            if fast is not None:
                self.check_preconditions(current, "PATCH", conditions)
                return current if fast else None
        return super().apply_patch(current, patch_op, conditions)

    def creation_response(self, base_url: str, created: Resource[Any]) -> ScimResponse:
        response = self.written_response(base_url, created, None, HTTPStatus.CREATED)
        response.headers["Location"] = response.headers["Content-Location"]
        return response

    def replacement_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        return self.written_response(base_url, resource, response_parameters)

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        """200 with the resource (RFC 7644 §3.5.2 allows 204; Oracle answers 200)."""
        return self.written_response(base_url, resource, response_parameters)

    def written_response(
        self,
        base_url: str,
        resource: Resource[Any],
        parameters: ResponseParameters[Any] | None,
        status: HTTPStatus = HTTPStatus.OK,
    ) -> ScimResponse:
        """scim2-server's `resource_response` of the published resource, through `view`:
        without publish's deep copy and a whole dump (a PATCH of a group's members copied
        and dumped all of its members, only to leave them out of the answer). The response
        contexts filter as a query's does."""
        assert resource.meta is not None
        assert resource.id is not None
        location = self.resource_location(
            base_url, self.get_resource_type_of(resource), resource.id
        )
        headers = {"Content-Location": location}
        if resource.meta.version and self.etag_supported:
            headers["ETag"] = resource.meta.version
        return ScimResponse(status, self.view(base_url, resource, parameters), headers)

    def bulk_success(
        self,
        base_url: str,
        operation: BulkOperation[Resource[Any]],
        outcome: dict[str, Any],
        resource: Resource[Any] | None,
    ) -> dict[str, Any]:
        """scim2-server's outcome, with the location and version `publish` would give the
        resource, without publishing (a deep copy of each resource a bulk request wrote)."""
        outcome = super().bulk_success(base_url, operation, outcome, None)
        if resource is not None:
            assert resource.meta is not None
            assert resource.id is not None
            outcome["location"] = self.resource_location(
                base_url, self.get_resource_type_of(resource), resource.id
            )
            outcome["version"] = resource.meta.version if self.etag_supported else None
        return outcome

    def read_bulk(self, body: bytes, content_type: str | None) -> BulkPlan:
        try:
            plan = super().read_bulk(body, content_type)
        except PayloadTooLargeException as exception:
            if "maxOperations" in exception.detail:
                raise OciError(
                    status=413, scim_type="tooMany", detail=exception.detail
                ) from exception
            raise
        raw = json.loads(body)
        raw_operations = raw.get("Operations") if isinstance(raw, dict) else None
        for operation, sent in zip(plan.operations, raw_operations or [], strict=False):
            if not isinstance(sent, dict):
                continue
            method = str(sent.get("method", "")).upper()
            resource = "User" if str(sent.get("path", "")).lstrip("/").startswith("Users") else ""
            if method in ("PUT", "PATCH"):
                violation = update_violation(resource, method, sent.get("data"))
                if violation is None and self.emulator.status_changer_only:
                    violation = active_violation(resource, method, sent.get("data"))
                if violation is not None:
                    operation.response = violation.to_error()
                    operation.status = violation.status
        return plan

    def bulk_failure(self, outcome: dict[str, Any], exception: Exception) -> dict[str, Any]:
        failure = super().bulk_failure(outcome, exception)
        if isinstance(exception, OciError) and exception.message_id:
            self.message_ids[id(failure["response"])] = exception.message_id
        return failure

    def bulk_response(self, plan: BulkPlan) -> ScimResponse:
        message_ids = [
            self.message_ids.pop(id(outcome.get("response")), None) for outcome in plan.outcomes()
        ]
        response = super().bulk_response(plan)
        assert response.body is not None
        for outcome, message_id in zip(
            response.body.get("Operations", []), message_ids, strict=False
        ):
            if isinstance(outcome.get("response"), dict):
                add_oracle_block(outcome["response"], message_id)
        return response


@dataclass
class OciRequest(ScimRequest):
    """A SCIM request, with Oracle's members paging taken out of ``attributes``."""

    members_page: tuple[int, int] | None = None


class OciApplication(WSGIApplication):
    """scim2-server's WSGI application mounted at ``/admin/v1``, behind OCI's bearer tokens,
    app roles, ``UserStatusChanger`` and the one-bulk-at-a-time rule."""

    def __init__(self, emulator: OciEmulator, storage: OciStorage, service: OciService) -> None:
        super().__init__(storage, service.provider, service)
        self.emulator = emulator
        self.storage: OciStorage = storage
        self.bulk_lock = threading.Lock()

    @staticmethod
    def get_base_url(environ: dict[str, Any]) -> str:
        return application_uri(environ).rstrip("/")

    def read_request(self, environ: dict[str, Any]) -> OciRequest:
        query = environ.get("QUERY_STRING", "")
        page = MEMBERS_PAGE.search(query)
        if page:
            environ["QUERY_STRING"] = MEMBERS_PAGE.sub("members", query)
        request = super().read_request(environ)
        values = {f.name: getattr(request, f.name) for f in fields(ScimRequest)}
        members_page = (int(page.group(1)), int(page.group(2))) if page else None
        return OciRequest(**values, members_page=members_page)

    def needs_auth(self, request: ScimRequest) -> bool:
        return True  # OCI wants a token even for ServiceProviderConfig

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not self.emulator._valid_token(token.strip()):
            raise UnauthorizedException(detail="Invalid or expired access token.")

    def dispatch_request(self, request: ScimRequest) -> ScimResponse:
        self.check_auth(request)
        head = request.path.strip("/").split("/")[0]
        if self.emulator.forbidden and head in PROTECTED:
            raise ForbiddenException(
                detail="The client's app roles do not allow this operation: "
                "grant it the User Administrator app role."
            )
        if head == "UserStatusChanger":
            return self.change_status(request)
        if head == "ServiceProviderConfig":
            return self.service_provider_config(request)
        if head == "IdentitySettings" and request.method.upper() == "GET":
            return self.identity_settings(request)
        if head == "Schemas" and request.method.upper() == "GET":
            return self.schemas(request)
        if head == "Bulk" and request.method.upper() == "POST":
            return self.bulk(request)
        return self.handler.handle(request)

    def service_provider_config(self, request: ScimRequest) -> ScimResponse:
        """The configuration as a resource, or as a ListResponse (Oracle's REST API page calls
        this GET "Search Service Provider Configs"), or refused (a client without the role)."""
        form = self.emulator.service_provider_config
        if form == "forbidden":
            raise ForbiddenException(
                detail="The client's app roles do not allow reading ServiceProviderConfig."
            )
        response = self.handler.handle(request)
        if form == "list" and response.body is not None and int(response.status) == 200:
            response.body = list_response([response.body])
        return response

    def identity_settings(self, request: ScimRequest) -> ScimResponse:
        """``GET /IdentitySettings`` (a ListResponse of the one setting) or ``…/{id}``.

        SDK ``list_identity_settings``/``get_identity_setting``, model ``IdentitySetting``
        (``primary_email_required``); the id and schema URN are the emulator's choice."""
        setting = {
            "schemas": [IDENTITY_SETTINGS],
            "id": IDENTITY_SETTINGS_ID,
            "primaryEmailRequired": self.storage.primary_email_required,
        }
        segments = request.path.strip("/").split("/")
        if len(segments) == 2:
            if segments[1] != IDENTITY_SETTINGS_ID:
                raise NotFoundException(detail=f"No IdentitySetting {segments[1]!r}.")
            return ScimResponse(HTTPStatus.OK, setting)
        return ScimResponse(HTTPStatus.OK, list_response([setting]))

    def schemas(self, request: ScimRequest) -> ScimResponse:
        """``GET /Schemas`` and ``/Schemas/{urn}`` from the snapshot of Oracle's schema
        (``oci_schema.json``, generated from the SDK's models by tools/oci_schema_snapshot.py):
        the connector learns from the same data the emulator enforces."""
        found = schema_snapshot()["Resources"]
        segments = request.path.strip("/").split("/", 1)
        if len(segments) == 2:
            schema = next((s for s in found if s["id"] == segments[1]), None)
            if schema is None:
                raise NotFoundException(detail=f"No schema {segments[1]!r} in this domain.")
            return ScimResponse(HTTPStatus.OK, schema)
        return ScimResponse(HTTPStatus.OK, list_response(found))

    def bulk(self, request: ScimRequest) -> ScimResponse:
        """Run one bulk request at a time, as the domain runs one Import/Bulk/Export job."""
        if not self.bulk_lock.acquire(blocking=not self.emulator.limits):
            self.emulator._count_throttled()
            headers = {"Retry-After": "1"} if self.emulator.retry_after else {}
            body = scim_error(429, "Another bulk request is running in this domain.")
            return ScimResponse(HTTPStatus.TOO_MANY_REQUESTS, body, headers)
        try:
            return self.handler.handle(request)
        finally:
            self.bulk_lock.release()

    def change_status(self, request: ScimRequest) -> ScimResponse:
        """``PUT /UserStatusChanger/{id}``: Oracle's way to (de)activate a user."""
        segments = request.path.strip("/").split("/")
        if request.method.upper() != "PUT" or len(segments) != 2:
            raise NotFoundException(detail="Use PUT /admin/v1/UserStatusChanger/{id}.")
        body = self.service.decode_body(request.body, request.header("Content-Type"))
        if not isinstance(body, dict) or STATUS_CHANGER not in (body.get("schemas") or []):
            raise InvalidValueException(detail=f"The schemas must hold {STATUS_CHANGER}.")
        if not isinstance(body.get("active"), bool):
            raise InvalidValueException(detail="active must be true or false.")
        user_type = self.service.get_resource_type("User")
        with self.service.provider, self.storage.operation():
            user = cast(User[Any], self.storage.get(user_type, segments[1]))
            user.active = body["active"]
            self.storage.update(user_type, user)
        return ScimResponse(HTTPStatus.OK, {**body, "id": segments[1]})

    def handle_exception(self, request: ScimRequest, exception: Exception) -> ScimResponse:
        response = super().handle_exception(request, exception)
        if response.body is not None:
            add_oracle_block(response.body, getattr(exception, "message_id", None))
        return response

    def finalize_response(self, request: ScimRequest, response: ScimResponse) -> ScimResponse:
        response = super().finalize_response(request, response)
        page = getattr(request, "members_page", None)
        if not response.body:
            return response
        limit = self.emulator.max_unpaged_members
        for resource in [response.body, *response.body.get("Resources", [])]:
            if not isinstance(resource, dict) or not isinstance(resource.get("members"), list):
                continue
            if page:
                start, count = page
                resource["members"] = resource["members"][start - 1 : start - 1 + count]
            elif len(resource["members"]) > limit:
                # SDK IdentityDomainsClient.get_group and list_groups (oci 2.189): "The Group
                # SEARCH and GET operations on users and members will throw an exception if
                # the response has more than 10,000 members. To avoid the exception, use the
                # pagination filter to GET or SEARCH group members." Status and body of that
                # exception are undocumented: 400 tooMany is the emulator's choice.
                detail = (
                    f"Group {resource.get('displayName') or resource.get('id')!r} has more "
                    f"than {limit} members: read them with the pagination filter "
                    "attributes=members[startIndex=N&count=M]."
                )
                body = scim_error(400, detail, "tooMany")
                return ScimResponse(HTTPStatus.BAD_REQUEST, body, {})
        return response
