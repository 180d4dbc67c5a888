"""A pending callback outlives a restart of the node (issue 7): a caller asks to be
called back while no agent is logged in; the node stops (SIGTERM) and starts again on
the same database; the callback is back in the queue at the caller's original place,
and when an agent logs in the caller's phone is rung and connected to the agent."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.interop.acd_helpers import (
    ask_for_callback,
    callback_row,
    login,
    make_number,
    make_tones,
    offer_callbacks,
    phone,
    registered,
    running,
    sales,
    until,
)
from tests.interop.harness import Namespace, helpline

CUSTOMER = "2003"
ENV = {"HELPLINE_SIP_QUALIFY_SECONDS": "0", "HELPLINE_COOKIE_SECURE": "0"}


def test_a_pending_callback_outlives_a_restart(
    ns: Namespace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = make_tones(tmp_path_factory.mktemp("work"))
    data = tmp_path_factory.mktemp("restarted")
    with helpline(ns, data, **ENV) as first:
        make_number(first)
        offer_callbacks(first)
        ask_for_callback(ns, first, work, CUSTOMER)
        pending = callback_row(first, CUSTOMER)
    with helpline(ns, data, **ENV) as second:
        view = until(second, lambda v: sales(v)["callbacks_pending"] == 1)
        (kept,) = sales(view)["callers"]
        assert kept["callback"] and kept["position"] == 1
        moved = datetime.fromisoformat(kept["joined_at"]) - datetime.fromisoformat(
            pending["joined_at"]
        )
        assert abs(moved.total_seconds()) < 0.5  # the original place, not the restart's
        customer = phone(ns, second, work, CUSTOMER, 60, "customer_answer.xml")
        agent = phone(ns, second, work, "2001", 60, "agent_hangup.xml")
        with running(customer, agent):
            registered(second, CUSTOMER)
            registered(second, "2001")
            login(second, "2001")
            until(second, lambda v: sales(v)["callbacks_pending"] == 0, timeout=30)
            until(second, lambda v: all(a["call_id"] is None for a in v["agents"]), timeout=30)
        done = callback_row(second, CUSTOMER)
        assert (done["id"], done["state"], done["agent"]) == (pending["id"], "completed", "2001")
