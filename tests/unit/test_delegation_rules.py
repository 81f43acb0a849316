"""Delegations as pure rules: setting, ending, who stands in, and how `/purchase` reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.command_parsing import (
    Delegate,
    DelegateOff,
    ReassignRequest,
    ShowDelegation,
    Unparseable,
    parse_purchase_command,
)
from domain.delegation import (
    Delegation,
    DelegationsState,
    EndDelegationInput,
    SetDelegationInput,
    end_delegation,
    parse_until,
    set_delegation,
    stand_in,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MANAGERS = {"UCARLOS": "UHELEN", "UHELEN": "UOLIVIA", "UNICO": "UCARLOS"}


def delegation(delegate: str, until: datetime = NOW + timedelta(days=2)) -> Delegation:
    return Delegation(
        delegator="UCARLOS", delegate=delegate, until=until, set_at=NOW, set_by="UCARLOS"
    )


def test_a_delegate_stands_in_and_is_named_on_behalf_of() -> None:
    found = stand_in("UCARLOS", "UNICO", delegation("UDIANA"), MANAGERS.get)
    assert (found.approver, found.on_behalf_of) == ("UDIANA", "UCARLOS")
    assert stand_in("UCARLOS", "UNICO", None, MANAGERS.get).approver == "UCARLOS"


def test_a_delegate_who_is_the_requester_never_gets_their_own_request() -> None:
    found = stand_in("UCARLOS", "UNICO", delegation("UNICO"), MANAGERS.get)
    assert (found.approver, found.on_behalf_of) == ("UHELEN", "UCARLOS")
    assert "requester" in found.note
    # The delegator's manager filed it too: it stays with the delegator.
    stays = stand_in("UCARLOS", "UHELEN", delegation("UHELEN"), MANAGERS.get)
    assert (stays.approver, stays.on_behalf_of) == ("UCARLOS", "")


def test_an_excluded_delegate_never_stands_in_nor_does_an_excluded_manager() -> None:
    """Whoever gave the first approval (or was stood in for) never gives the second, also not
    as a delegate: the delegator's manager is asked instead, else the delegator."""
    found = stand_in("UCARLOS", "UNICO", delegation("UDIANA"), MANAGERS.get, ["UDIANA"])
    assert (found.approver, found.on_behalf_of) == ("UHELEN", "UCARLOS")
    assert "not allowed to decide it" in found.note
    stays = stand_in("UCARLOS", "UNICO", delegation("UDIANA"), MANAGERS.get, ["UDIANA", "UHELEN"])
    assert (stays.approver, stays.on_behalf_of) == ("UCARLOS", "")
    assert "stays with UCARLOS" in stays.note
    # Not excluded: the delegate, as before.
    assert stand_in("UCARLOS", "UNICO", delegation("UDIANA"), MANAGERS.get, ["UX"]).approver == (
        "UDIANA"
    )


def test_setting_replaces_the_previous_and_refuses_what_makes_no_sense() -> None:
    first, _ = set_delegation(
        [],
        SetDelegationInput(
            delegator="UCARLOS", delegate="UDIANA", until=NOW + timedelta(days=1), actor="UCARLOS"
        ),
        NOW,
    )
    second, made = set_delegation(
        first,
        SetDelegationInput(
            delegator="UCARLOS", delegate="UGEORGE", until=NOW + timedelta(days=2), actor="UCARLOS"
        ),
        NOW,
    )
    assert [d.delegate for d in second] == ["UGEORGE"] and made.delegate == "UGEORGE"
    for delegate, until, problem in [
        ("UCARLOS", NOW + timedelta(days=1), "yourself"),
        ("UDIANA", NOW - timedelta(minutes=1), "future"),
        ("UDIANA", NOW + timedelta(days=91), "at most 90 days"),
    ]:
        wanted = SetDelegationInput(
            delegator="UCARLOS", delegate=delegate, until=until, actor="UCARLOS"
        )
        with pytest.raises(ValueError, match=problem):
            set_delegation([], wanted, NOW)


def test_a_delegation_ends_by_its_date_and_can_still_be_turned_off_after() -> None:
    ending = delegation("UDIANA", until=NOW + timedelta(hours=1))
    state = DelegationsState(delegations=[ending])
    assert state.active_for("UCARLOS", NOW) == ending
    later = NOW + timedelta(hours=2)
    assert state.active_for("UCARLOS", later) is None
    kept, ended = end_delegation(
        state.delegations, EndDelegationInput(delegator="UCARLOS", actor="UCARLOS"), later
    )
    assert kept == [] and ended == ending
    with pytest.raises(ValueError, match="no delegation"):
        end_delegation([], EndDelegationInput(delegator="UCARLOS", actor="UCARLOS"), NOW)


def test_until_reads_a_day_through_its_end_or_an_exact_time() -> None:
    assert parse_until("2026-12-24") == datetime(2026, 12, 25, tzinfo=UTC)
    assert parse_until("2026-12-24T18:00Z") == datetime(2026, 12, 24, 18, tzinfo=UTC)
    assert parse_until("2026-12-24T18:00") == datetime(2026, 12, 24, 18, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a date"):
        parse_until("christmas")


def test_purchase_delegate_and_reassign_commands() -> None:
    assert parse_purchase_command("delegate") == ShowDelegation()
    assert parse_purchase_command("delegate OFF") == DelegateOff()
    assert parse_purchase_command("delegate <@UDIANA|diana> until 2026-12-24") == Delegate(
        to="UDIANA", until=datetime(2026, 12, 25, tzinfo=UTC)
    )
    assert parse_purchase_command("reassign pr-1a2b3c4d <@UHELEN> Carlos is away") == (
        ReassignRequest(request_id="PR-1A2B3C4D", to="UHELEN", reason="Carlos is away")
    )
    for text in [
        "delegate @diana until 2026-12-24",
        "delegate <@UDIANA> 2026-12-24",
        "delegate <@UDIANA> until soon",
        "reassign PR-1A2B3C4D",
        "reassign nonsense <@UHELEN>",
    ]:
        assert isinstance(parse_purchase_command(text), Unparseable), text
