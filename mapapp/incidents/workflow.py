"""The closed loop (数字城管 cycle) as a state machine, and case deadlines. Pure: no SQL.

reported --register--> registered --dispatch--> dispatched --start--> in_progress
  --handle (反馈)--> handled --close (核查结案)--> closed
send_back: handled -> in_progress, dispatched -> registered; reopen: closed -> registered;
void: any open state -> voided. The case clock starts at dispatch.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mapapp.incidents.taxonomy import Taxonomy

DISPATCH_ROLES = frozenset({"dispatcher", "admin"})
FIELD_ROLES = frozenset({"dispatcher", "patrol_lead", "admin"})
PRIORITY_FACTOR = {"normal": 1.0, "high": 0.5, "urgent": 0.25}


@dataclass(frozen=True)
class Transition:
    action: str
    source: frozenset[str]
    target: str
    roles: frozenset[str]


_OPEN = frozenset({"reported", "registered", "dispatched", "in_progress", "handled"})
TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("register", frozenset({"reported"}), "registered", DISPATCH_ROLES),
    Transition("dispatch", frozenset({"registered"}), "dispatched", DISPATCH_ROLES),
    Transition("start", frozenset({"dispatched"}), "in_progress", FIELD_ROLES),
    Transition("handle", frozenset({"in_progress"}), "handled", FIELD_ROLES),
    Transition("close", frozenset({"handled"}), "closed", DISPATCH_ROLES),
    Transition("send_back", frozenset({"handled", "dispatched"}), "", DISPATCH_ROLES),
    Transition("reopen", frozenset({"closed"}), "registered", DISPATCH_ROLES),
    Transition("void", _OPEN, "voided", DISPATCH_ROLES),
)}
SEND_BACK = {"handled": "in_progress", "dispatched": "registered"}


class TransitionError(ValueError):
    """An action that the case's state or the person's role does not allow."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def next_state(current: str, action: str, role: str) -> str:
    """The state after `action`, or TransitionError (409 for the state, 403 for the role)."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise TransitionError(f"unknown action {action!r}; use one of {', '.join(TRANSITIONS)}", status=400)
    if current not in t.source:
        raise TransitionError(f"cannot {action} a case that is {current}; from {current} the allowed "
                              f"actions are {', '.join(allowed(current)) or 'none'}", status=409)
    if role not in t.roles:
        raise TransitionError(f"role {role} may not {action}; needs one of {', '.join(sorted(t.roles))}",
                              status=403)
    return SEND_BACK[current] if action == "send_back" else t.target


def allowed(current: str) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if current in t.source]


def deadline_hours(taxonomy: Taxonomy, category: str, priority: str) -> float:
    """The category's deadline, shortened for high (1/2) and urgent (1/4) priority."""
    return taxonomy.get(category).deadline_hours * PRIORITY_FACTOR[priority]


def due_at(dispatched_at: datetime, hours: float) -> datetime:
    return dispatched_at + timedelta(hours=hours)
