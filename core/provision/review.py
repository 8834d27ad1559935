"""Review: what a person reading a plan needs beside each change.

An update's values before and after, a create's attributes, a membership change's members by
name, from both sides' spools. Only plans carry it: a run does not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provision.contract import Kind
from provision.records import NAME_ATTRIBUTE, Record

if TYPE_CHECKING:
    from provision.plan import Plan
    from provision.records import Snapshot, Spool


def annotate(
    plan: Plan, source: Snapshot, target: Snapshot, spool: Spool, target_spool: Spool
) -> None:
    """Fill in what a person reviewing ``plan`` needs: values before and after, members
    by name."""
    for p in plan.changes():
        if p.kind is Kind.MEMBERSHIP:
            p.details = {
                "add": [_named(k, source.users.get(k)) for k in p.add],
                "remove": [_named(t, target.users.get(t), "id") for t in p.remove],
            }
        elif p.action.value == "create":
            p.details = {"after": spool.get(p.kind, p.key)[1]}
        elif p.action.value == "update" and p.target_id:
            now = target_spool.get(p.kind, p.target_id)[1]
            wanted = {NAME_ATTRIBUTE[p.kind]: p.rename} if p.rename else None
            if wanted is None:
                wanted = spool.get(p.kind, p.key)[1]
            p.details = {
                "before": {a: now.get(a) for a in p.attributes},
                "after": {a: wanted.get(a) for a in p.attributes},
            }


def _named(key: str, record: Record | None, field: str = "key") -> dict[str, str]:
    return {field: key, "name": record.label if record is not None else "(unknown)"}
