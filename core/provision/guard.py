"""Guards: a run that would deprovision too much of what is live stops before writing.

Separate limits for users, groups and membership removals, each by count and by percentage
of what the sync owns and is live (active users, owned groups, a group's synced members).
Users already deactivated never count, so the base does not grow with every leaver, and an
empty source read trips the percentage however old the deployment is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.contract import Action, Kind

if TYPE_CHECKING:
    from provision.plan import Plan
    from provision.settings import SyncSettings

MEMBER_FLOOR = 10
"""A group's removals trip the percentage only past this many: a small group may empty."""


@dataclass(frozen=True)
class Refusal:
    """One limit a plan exceeds."""

    what: str
    count: int
    limit: str

    def __str__(self) -> str:
        return f"{self.what}: {self.count}, {self.limit}"


def _over(count: int, base: int, max_count: int, max_percent: float, names: tuple[str, str]) -> str:
    """Which limit ``count`` exceeds (of ``base``), or an empty string."""
    if count > max_count:
        return f"more than [sync] {names[0]} = {max_count}"
    percent = 100.0 * count / base if base else 100.0
    if count and percent > max_percent:
        return f"{percent:.0f}% of {base} live, over [sync] {names[1]} = {max_percent:g}"
    return ""


def check(plan: Plan, s: SyncSettings) -> list[Refusal]:
    """Every limit the plan exceeds; empty when it may be written."""
    out: list[Refusal] = []
    users = sum(1 for p in plan.removals if p.kind is Kind.USER) + plan.disables[Kind.USER]
    groups = sum(1 for p in plan.removals if p.kind is Kind.GROUP and p.action is Action.DELETE)
    limit = _over(
        users, plan.live[Kind.USER], s.max_deletes, s.max_delete_percent,
        ("max_deletes", "max_delete_percent"),
    )  # fmt: skip
    if limit:
        flipped = plan.disables[Kind.USER]
        what = "users to deactivate or delete" + (
            f" ({flipped} made inactive in the source)" if flipped else ""
        )
        out.append(Refusal(what, users, limit))
    limit = _over(
        groups, plan.live[Kind.GROUP], s.max_group_deletes, s.max_group_delete_percent,
        ("max_group_deletes", "max_group_delete_percent"),
    )  # fmt: skip
    if limit:
        out.append(Refusal("groups to delete", groups, limit))
    removals = sum(len(p.remove) for p in plan.memberships)
    if removals > s.max_member_removals:
        out.append(
            Refusal(
                "memberships to remove",
                removals,
                f"more than [sync] max_member_removals = {s.max_member_removals}",
            )
        )
    for p in plan.memberships:
        n, base = len(p.remove), plan.group_members.get(str(p.target_id), 0)
        percent = 100.0 * n / base if base else 100.0
        if n > MEMBER_FLOOR and percent > s.max_member_removal_percent:
            out.append(
                Refusal(
                    f"members to remove from group {p.label!r}",
                    n,
                    f"{percent:.0f}% of its {base} synced members, over [sync] "
                    f"max_member_removal_percent = {s.max_member_removal_percent:g}",
                )
            )
    return out


def explain(refusals: list[Refusal]) -> str:
    """The operator's message for a stopped run."""
    listed = "; ".join(str(r) for r in refusals)
    return (
        f"the run would deprovision more than the guards allow ({listed}). Nothing was "
        "written. Check the source first: an empty or filtered read, or a narrowed group "
        "filter, looks like mass deletion. If the changes are intended, review them with "
        "`provision plan`, then run again with --allow-deletes or raise the limit."
    )
