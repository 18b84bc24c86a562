"""LIVEPLEDGE_CONSUMERS: which outbox consumers a server runs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from livepledge.config import Settings
from livepledge.deps import chosen_consumers


@dataclass
class Named:
    name: str


AVAILABLE = [Named("notices"), Named("record"), Named("ledger")]


def test_all_none_and_a_list_of_names() -> None:
    assert chosen_consumers("all", AVAILABLE) == AVAILABLE
    assert chosen_consumers("none", AVAILABLE) == []
    assert chosen_consumers("ledger,record", AVAILABLE) == [Named("ledger"), Named("record")]


def test_an_unknown_name_stops_the_server_at_start() -> None:
    with pytest.raises(SystemExit, match="ledgr"):
        chosen_consumers("ledgr", AVAILABLE)


def test_the_setting_is_checked_and_normalised() -> None:
    assert Settings(consumers=" ledger , record ").consumers == "ledger,record"
    assert Settings().consumers == "all"
    with pytest.raises(ValidationError):
        Settings(consumers="ledger;drop")
