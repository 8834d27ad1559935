"""One full read of a pool: producer threads page the API, one consumer maps and yields."""

from __future__ import annotations

import contextlib
import logging
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from scim2_models import Group, User

from provision import Unreadable, Unverified
from provision_cognito.client import CognitoClient
from provision_cognito.mapping import attributes_of, group_from_cognito, user_from_cognito
from provision_cognito.settings import CognitoSettings

log = logging.getLogger(__name__)

QUEUE_PAGES = 64
"""Pages read ahead of the engine; producers wait beyond that (memory stays bounded)."""


class CognitoReadError(Exception):
    """The pool could not be read completely; nothing will be written."""


@dataclass(frozen=True, slots=True)
class UsersPage:
    """A page of ListUsers."""

    records: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MembersPage:
    """A page of ListUsersInGroup."""

    group: str
    records: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class GroupFound:
    """A group whose members will be read: one more producer to wait for."""


@dataclass(frozen=True, slots=True)
class GroupRead:
    """A group whose members were all read: its producer is done."""

    name: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListDone:
    """ListUsers or ListGroups reached its last page: its producer is done."""


@dataclass(frozen=True, slots=True)
class ReadFailed:
    """A producer failed: the read stops and raises it."""

    error: BaseException


Message = UsersPage | MembersPage | GroupFound | GroupRead | ListDone | ReadFailed
"""What producer threads hand the consumer, through one bounded queue."""


class PoolRead:
    """One full read. Threads read pages; the generator maps and yields them in order.

    Whole pool: ListUsers pages in one thread, ListGroups in another, each group's members in
    a pool of ``concurrency`` threads, all at once within the budgets. A member ListUsers did
    not return (created during the read) is still yielded. With a group list: GetGroup for
    each, then their members, and every member once as a user; no ListUsers.

    The steps: `_list_users`, `_list_groups` and `_read_members` produce `Message`s; `objects`
    consumes them until every producer said it is done, then yields the groups.
    """

    def __init__(self, client: CognitoClient, settings: CognitoSettings) -> None:
        self.client = client
        self.settings = settings
        self.only = settings.groups
        self.items: queue.Queue[Message] = queue.Queue(maxsize=QUEUE_PAGES)
        self.stop = threading.Event()
        self.members: dict[str, list[str]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}  # sub → the one string kept for it
        self.stash: dict[str, bytes] = {}  # members not (yet) seen in ListUsers

    def objects(self) -> Iterator[User[Any] | Group | Unreadable | Unverified]:
        workers = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="cognito")
        self._start(self._list_groups, workers)
        producers = 1
        if not self.only:
            self._start(self._list_users)
            producers += 1
        try:
            while producers:
                match self.items.get():
                    case ReadFailed(error):
                        raise error
                    case UsersPage(records):
                        yield from self._users(records)
                    case MembersPage(group, records):
                        yield from self._group_members(group, records)
                    case GroupFound():
                        producers += 1
                    case GroupRead(name, record):
                        self.groups[name] = record
                        producers -= 1
                    case ListDone():
                        producers -= 1
            for sub, blob in self.stash.items():
                if sub not in self.keys:  # created during the read: ListUsers missed it
                    yield from self._users([pickle.loads(blob)])
            for name, record in self.groups.items():
                yield group_from_cognito(record, self.members.get(name, []))
        finally:
            self.stop.set()
            workers.shutdown(wait=False, cancel_futures=True)

    def _users(
        self, records: list[dict[str, Any]]
    ) -> Iterator[User[Any] | Unreadable | Unverified]:
        for record in records:
            sub = attributes_of(record).get("sub", "")
            if sub in self.keys:
                continue
            self.keys[sub] = sub
            user = user_from_cognito(record, self.settings.user_name_from)
            why = unverified(record, self.settings.user_name_from)
            yield Unverified(user, why) if why and isinstance(user, User) else user

    def _group_members(
        self, group: str, records: list[dict[str, Any]]
    ) -> Iterator[User[Any] | Unreadable | Unverified]:
        subs = self.members.setdefault(group, [])
        for record in records:
            sub = attributes_of(record).get("sub")
            if not sub:
                continue
            if self.only:
                yield from self._users([record])  # members are the users in this mode
            elif sub not in self.keys:
                self.stash.setdefault(sub, pickle.dumps(record))
            subs.append(self.keys.get(sub, sub))

    # Producers (threads): every page goes through the queue, every failure too.
    def _start(self, fn: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(
            target=self._produce,
            args=(fn, ListDone(), "", *args),
            daemon=True,
            name=f"cognito-{fn.__name__}",
        )
        thread.start()
        return thread

    def _produce(self, fn: Callable[..., None], done: Message, what: str, *args: Any) -> None:
        """Run one producer; hand over its failure, or ``done`` when it finished."""
        try:
            fn(*args)
        except _Stopped:
            return
        except BaseException as err:  # handed to the consumer, which raises it
            with contextlib.suppress(_Stopped):
                self._put(ReadFailed(_read_error(err, what)))
            return
        with contextlib.suppress(_Stopped):
            self._put(done)

    def _put(self, item: Message) -> None:
        while not self.stop.is_set():
            try:
                self.items.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise _Stopped()

    def _list_users(self) -> None:
        for page in self.client.users():
            self._put(UsersPage(page))

    def _list_groups(self, workers: ThreadPoolExecutor) -> None:
        if self.only:
            records = (self._get_group(name) for name in self.only)
        else:
            records = (g for page in self.client.groups() for g in page)
        for record in records:
            self._put(GroupFound())
            name = str(record.get("GroupName", "?"))
            workers.submit(
                self._produce,
                self._read_members,
                GroupRead(name, record),
                f"members of group {name!r}",
                name,
            )

    def _read_members(self, name: str) -> None:
        for page in self.client.members(name):
            self._put(MembersPage(name, page))
            if self.stop.is_set():
                return

    def _get_group(self, name: str) -> dict[str, Any]:
        try:
            return self.client.group(name)
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                raise CognitoReadError(
                    f"group {name!r} of [cognito] groups does not exist in pool "
                    f"{self.settings.user_pool_id}; fix the list (a missing group read as "
                    "empty would deactivate its members)"
                ) from None
            raise


class _Stopped(Exception):
    """The consumer went away: producers stop quietly."""


def unverified(record: dict[str, Any], user_name_from: str) -> str:
    """Why Cognito has not vouched for this user's identity, or an empty string.

    UNCONFIRMED: a sign-up that never confirmed its code (botocore's cognito-idp model,
    UserStatusType). An unverified email that becomes the userName: anyone can sign up with
    someone else's address. Such users are synced but never adopt a target account by name.
    """
    if record.get("UserStatus") == "UNCONFIRMED":
        return "the Cognito user is UNCONFIRMED"
    if user_name_from == "email" and attributes_of(record).get("email_verified") != "true":
        return "its email, which is its userName, is not verified in Cognito"
    return ""


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _read_error(err: BaseException, what: str = "") -> BaseException:
    if isinstance(err, CognitoReadError | _Stopped):
        return err
    prefix = f"reading {what}: " if what else ""
    if isinstance(err, ClientError):
        return CognitoReadError(
            f"{prefix}{_code(err)}: {err.response['Error'].get('Message')}{_hint_for(err)}"
        )
    return CognitoReadError(f"{prefix}{type(err).__name__}: {err}")


def _hint_for(err: ClientError) -> str:
    code = _code(err)
    if code in ("AccessDeniedException", "AccessDenied"):
        return "; run `provision test` on this endpoint to see which permission is missing"
    if code == "TooManyRequestsException":
        return "; throttled beyond the retries: lower user_list_rps / group_read_rps"
    if code == "ResourceNotFoundException":
        return "; check user_pool_id and region"
    return ""
