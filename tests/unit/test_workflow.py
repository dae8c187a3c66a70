from datetime import datetime, timezone

import pytest

from mapapp.incidents import workflow as wf
from mapapp.incidents.taxonomy import load

STATES = ["reported", "registered", "dispatched", "in_progress", "handled", "closed", "voided"]
LEGAL = {
    ("reported", "register"): "registered", ("registered", "dispatch"): "dispatched",
    ("dispatched", "start"): "in_progress", ("in_progress", "handle"): "handled",
    ("handled", "close"): "closed", ("handled", "send_back"): "in_progress",
    ("dispatched", "send_back"): "registered", ("closed", "reopen"): "registered",
    **{(s, "void"): "voided" for s in ["reported", "registered", "dispatched", "in_progress", "handled"]},
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(wf.TRANSITIONS))
def test_every_transition_legal_or_409(state, action):
    if (state, action) in LEGAL:
        assert wf.next_state(state, action, "admin") == LEGAL[(state, action)]
    else:
        with pytest.raises(wf.TransitionError) as err:
            wf.next_state(state, action, "admin")
        assert err.value.status == 409 and state in str(err.value)


def test_roles():
    assert wf.next_state("dispatched", "start", "patrol_lead") == "in_progress"
    with pytest.raises(wf.TransitionError) as err:
        wf.next_state("reported", "register", "viewer")
    assert err.value.status == 403
    with pytest.raises(wf.TransitionError) as err:
        wf.next_state("handled", "close", "patrol_lead")
    assert err.value.status == 403


def test_unknown_action_is_400():
    with pytest.raises(wf.TransitionError) as err:
        wf.next_state("reported", "teleport", "admin")
    assert err.value.status == 400


def test_deadlines_by_category_and_priority():
    tax = load()
    assert wf.deadline_hours(tax, "public_order.fight", "normal") == 2
    assert wf.deadline_hours(tax, "public_order.theft", "urgent") == 6
    start = datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    assert wf.due_at(start, 6) == datetime(2026, 11, 1, 14, tzinfo=timezone.utc)
