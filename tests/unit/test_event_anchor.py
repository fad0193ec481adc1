"""Where a resuming event stream stands against the kept history (system/queue/sockets.py): carried on, expired,
or rewound by a failover that lost the last commits."""

from __future__ import annotations

import uuid

from system.contract import EVENTS_EXPIRED_CLOSE_CODE, EVENTS_REWOUND_CLOSE_CODE
from system.queue.sockets import anchored, without_anchor

A, B = uuid.uuid4(), uuid.uuid4()


def rows(*pairs):
    return [{"seq": s, "event_id": e} for s, e in pairs]


def test_the_event_the_client_saw_is_read_again_and_not_sent_again():
    later = uuid.uuid4()
    assert anchored(rows((5, A), (6, later)), 5, A) == (rows((6, later)), True, A)


def test_another_event_at_the_clients_seq_is_a_rewind():
    assert anchored(rows((5, B), (6, uuid.uuid4())), 5, A)[1] is False


def test_a_client_that_named_no_event_is_taken_to_have_seen_the_one_there():
    sent, same, anchor = anchored(rows((5, B)), 5, None)
    assert (sent, same, anchor) == ([], True, B)
    assert anchored(rows((5, A)), 5, anchor)[1] is False  # from then on, a change is told


def test_from_the_start_the_first_event_must_be_there():
    assert anchored(rows((1, A)), 0, None) == (rows((1, A)), True, None)
    assert anchored(rows((4, A)), 0, None)[1] is None and anchored([], 0, None)[1] is None
    assert without_anchor(after=0, end=0, kept_from=1) is None  # no event yet
    assert without_anchor(after=0, end=7, kept_from=8) == (EVENTS_EXPIRED_CLOSE_CODE, b"events_expired")  # all swept


def test_without_the_clients_event_the_history_says_which():
    assert anchored(rows((7, A)), 5, A)[1] is None and anchored([], 5, A)[1] is None
    assert without_anchor(after=5, end=3, kept_from=1) == (EVENTS_REWOUND_CLOSE_CODE, b"events_rewound")  # it ends before
    assert without_anchor(after=5, end=9, kept_from=8) == (EVENTS_EXPIRED_CLOSE_CODE, b"events_expired")  # swept past it
    assert without_anchor(after=5, end=9, kept_from=6) is None  # swept up to it: the client needs only what is kept
    assert without_anchor(after=5, end=9, kept_from=1) == (EVENTS_REWOUND_CLOSE_CODE, b"events_rewound")  # kept, not there
