"""Names that move: the order of renames within one run, so that names converge.

userName and displayName are unique in the target, so a rename to a name another object
holds fails. Within one run this module orders the renames in *waves* (one write call each):
a rename waits for the rename that frees its name; a cycle (two users swapping addresses) is
broken with a temporary name; a name held by a leaver this sync owns is freed by renaming the
leaver first (unless ``on_delete = "ignore"`` asks to leave leavers alone). Any other holder
blocks the rename, which is reported naming the holder, while the object's other attribute
changes still go ahead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

LEFT_SUFFIX = ".left-"
MOVING_SUFFIX = ".moving-"


def freed_name(name: str, target_id: str) -> str:
    """The name a leaver gets when its name is freed: stable, so a re-run plans the same."""
    return f"{name}{LEFT_SUFFIX}{_short(target_id)}"


def moving_name(name: str, target_id: str) -> str:
    """A temporary name that breaks a cycle of renames."""
    return f"{name}{MOVING_SUFFIX}{_short(target_id)}"


def _short(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


@dataclass
class Want:
    """One object that needs a name: a rename (``holds`` its current one) or a create."""

    ident: str
    """Target id of a rename, or ``create:<source key>`` for a create."""
    name: str
    natural: str
    holds: str | None = None
    """The natural form of the name the object holds now (None for a create)."""


@dataclass
class Holder:
    """An object holding a name that someone wants, and whether the sync may free it."""

    target_id: str
    name: str
    freeable: bool
    """A leaver this sync owns, renamed out of the way with `freed_name`."""
    why: str = ""
    """For a holder that cannot be freed: who it is, for the operator."""


@dataclass
class Order:
    """The outcome: a wave per want, the names to free first, and what is blocked."""

    waves: dict[str, int] = field(default_factory=dict)
    """Want ident → wave (0 first). Wants not here are blocked."""
    frees: dict[str, str] = field(default_factory=dict)
    """Target id → the new name of a freed leaver, or of a cycle's temporary step (wave 0)."""
    blocked: dict[str, Holder] = field(default_factory=dict)
    """Want ident → the holder that blocks it."""


def order(wants: list[Want], holders: dict[str, Holder]) -> Order:
    """Waves for ``wants``; ``holders`` maps a natural name to the object holding it.

    Every want whose name is held by another want's object waits for that one's rename;
    cycles get a temporary name; other holders are freed when freeable, else block.
    """
    out = Order()
    by_holding = {w.holds: w for w in wants if w.holds is not None}
    wanted: dict[str, list[Want]] = {}
    for w in wants:
        wanted.setdefault(w.natural, []).append(w)
    waits: dict[str, str | None] = {}  # want ident → ident of the want it waits for
    for w in sorted(wants, key=lambda w: w.ident):
        rivals = [r.ident for r in wanted[w.natural] if r is not w]
        if rivals:
            why = f"another source object wants the same name ({', '.join(sorted(rivals))})"
            out.blocked[w.ident] = Holder(rivals[0], w.name, False, why)
            continue
        moving = by_holding.get(w.natural)
        if moving is not None and moving is not w:
            waits[w.ident] = moving.ident
            continue
        waits[w.ident] = None
        holder = holders.get(w.natural)
        if holder is None or holder.target_id == w.ident or w.holds == w.natural:
            continue
        if holder.freeable:
            out.frees.setdefault(holder.target_id, freed_name(holder.name, holder.target_id))
            waits[w.ident] = "free"
        else:
            out.blocked[w.ident] = holder
    _break_cycles(wants, waits, out)
    _assign_waves(waits, out)
    return out


def _break_cycles(wants: list[Want], waits: dict[str, str | None], out: Order) -> None:
    """Move the first member of each cycle to a temporary name in wave 0."""
    by_ident = {w.ident: w for w in wants}
    done: set[str] = set()
    for start in sorted(waits):
        path: list[str] = []
        node: str | None = start
        while node is not None and node in by_ident and node not in done and node not in path:
            path.append(node)
            node = waits.get(node)
        done.update(path)
        if node is None or node not in path:
            continue
        cycle = path[path.index(node) :]
        breaker = min(cycle)
        w = by_ident[breaker]
        out.frees[breaker] = moving_name(w.name, breaker)
        for member in cycle:  # whoever waited for the breaker now waits for its move only
            if waits[member] == breaker:
                waits[member] = "free"


def _assign_waves(waits: dict[str, str | None], out: Order) -> None:
    """Each want's wave: one more than the want it waits for (iteratively: chains of
    thousands of renames must not exhaust the stack)."""
    for start in waits:
        chain: list[str] = []
        node = start
        while node not in out.waves and node not in out.blocked:
            chain.append(node)
            dep = waits.get(node)
            if dep is None or dep == "free" or dep in out.waves or dep in chain:
                break
            if dep in out.blocked or dep not in waits:
                out.blocked[node] = Holder(dep, "", False, "a rename it waits for is blocked")
                break
            node = dep
        for ident in reversed(chain):
            if ident in out.blocked or ident in out.waves:
                continue
            dep = waits.get(ident)
            if dep is None:
                wave = 0
            elif dep == "free" or (dep in chain and dep not in out.waves):
                wave = 1
            elif dep in out.blocked:
                out.blocked[ident] = Holder(dep, "", False, "a rename it waits for is blocked")
                continue
            else:
                wave = out.waves[dep] + 1
            out.waves[ident] = wave
