"""Payment providers. A provider charges and refunds buyers, compensates them, collects shops'
deposits and pays shops out; the order and settlement services own the state.

To plug in a real provider (WeChat Pay, Alipay, a PSP), implement `PaymentProvider` and select it
by name in `build_provider` (docs/payments.md). The sandbox provider is the only stand-in in the
codebase: it settles instantly, and a test can ask it to decline.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Charge:
    provider: str
    reference: str
    amount: int
    succeeded: bool
    message: str = ""


class PaymentProvider(Protocol):
    name: str

    async def charge(self, *, order_id: int, amount: int, buyer_id: int,
                     idempotency_key: str, outcome: str | None = None) -> Charge: ...

    async def refund(self, *, reference: str, amount: int,
                     idempotency_key: str | None = None) -> Charge:
        """Refund part or all of a charge. The same idempotency key must give the same refund
        (the platform repeats a call after a crash; the provider must not pay twice)."""
        ...

    async def compensate(self, *, order_id: int, buyer_id: int, amount: int,
                         idempotency_key: str) -> Charge:
        """Pay the buyer compensation beyond a refund (a cancellation they did not ask for, a
        missed shipping promise): a transfer to the buyer, the same key giving the same
        transfer."""
        ...

    async def collect(self, *, shop_id: int, amount: int, idempotency_key: str,
                      outcome: str | None = None) -> Charge:
        """Charge a shop (its deposit top-up, 保证金): money from the merchant to the platform,
        the same key giving the same charge."""
        ...

    async def payout(self, *, shop_id: int, amount: int, idempotency_key: str) -> Charge:
        """Pay a shop's available balance out to its settlement account: a transfer from the
        platform to the merchant, the same key giving the same transfer (never two)."""
        ...

    async def pay_buyer(self, *, buyer_id: int, amount: int, idempotency_key: str) -> Charge:
        """Transfer money to a buyer that is not a refund of an order (a red packet share):
        the same key giving the same transfer (never two)."""
        ...

    async def pay_party(self, *, party_id: int, amount: int, idempotency_key: str) -> Charge:
        """Pay an anchor or an MCN agency what the platform owes them (commissions, slot and
        MCN fees) to their settlement account: the same key giving the same transfer."""
        ...

    async def return_deposit(self, *, shop_id: int, amount: int,
                             idempotency_key: str) -> Charge:
        """Pay part of a shop's deposit (保证金) back to its settlement account: the same key
        giving the same transfer."""
        ...


class SandboxProvider:
    """Settles at once. `outcome="decline"` simulates a declined card.

    With a journal file (LIVEPLEDGE_SANDBOX_JOURNAL, tests) every charge, refund, transfer,
    collection (a deposit top-up) and payout it makes is appended there as one JSON line,
    fsynced, and reloaded at start: its idempotency keys then survive a restart as a real
    provider's do, a crash test can count what was paid, and `ledger reconcile` reads it as the
    provider's records. A repeated key is journalled as a `replay` line (it pays nothing)."""

    name = "sandbox"

    def __init__(self, journal: Path | None = None) -> None:
        self._charges: dict[str, Charge] = {}
        self._refunds: dict[str, Charge] = {}
        self.refund_calls = 0
        self.payout_calls = 0  # distinct payouts made (tests: never two for one key)
        self._journal = journal
        if journal is not None and journal.exists():
            for line in journal.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                if entry["op"] == "replay":
                    continue
                target = self._charges if entry["op"] in ("charge", "collect") \
                    else self._refunds
                target[entry["key"]] = Charge(**entry["charge"])

    def _write(self, op: str, key: str, charge: Charge, **more: str) -> None:
        if self._journal is None:
            return
        line = json.dumps({"op": op, "key": key, "charge": asdict(charge), **more}) + "\n"
        with open(self._journal, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    async def charge(self, *, order_id: int, amount: int, buyer_id: int,
                     idempotency_key: str, outcome: str | None = None) -> Charge:
        key = f"{order_id}:{idempotency_key}"
        if key in self._charges:
            return self._charges[key]
        succeeded = outcome != "decline"
        charge = Charge(self.name, f"sbx_{secrets.token_hex(10)}", amount, succeeded,
                        "" if succeeded else "沙箱拒付 / sandbox declined")
        self._charges[key] = charge
        self._write("charge", key, charge)
        return charge

    async def refund(self, *, reference: str, amount: int,
                     idempotency_key: str | None = None) -> Charge:
        self.refund_calls += 1
        if idempotency_key is not None and idempotency_key in self._refunds:
            self._write("replay", idempotency_key, self._refunds[idempotency_key])
            return self._refunds[idempotency_key]
        refund = Charge(self.name, f"sbr_{secrets.token_hex(10)}", amount, True)
        if idempotency_key is not None:
            self._refunds[idempotency_key] = refund
        self._write("refund", idempotency_key or "", refund, of=reference)
        return refund

    async def compensate(self, *, order_id: int, buyer_id: int, amount: int,
                         idempotency_key: str) -> Charge:
        key = f"comp:{idempotency_key}"
        if key not in self._refunds:
            self._refunds[key] = Charge(self.name, f"sbt_{secrets.token_hex(10)}", amount, True)
            self._write("transfer", key, self._refunds[key])
        return self._refunds[key]

    async def collect(self, *, shop_id: int, amount: int, idempotency_key: str,
                      outcome: str | None = None) -> Charge:
        key = f"collect:{shop_id}:{idempotency_key}"
        if key not in self._charges:
            succeeded = outcome != "decline"
            message = "" if succeeded else "沙箱拒付 / sandbox declined"
            self._charges[key] = Charge(self.name, f"sbc_{secrets.token_hex(10)}", amount,
                                        succeeded, message)
            self._write("collect", key, self._charges[key])
        return self._charges[key]

    async def payout(self, *, shop_id: int, amount: int, idempotency_key: str) -> Charge:
        key = f"payout:{shop_id}:{idempotency_key}"
        if key not in self._refunds:
            self.payout_calls += 1
            self._refunds[key] = Charge(self.name, f"sbp_{secrets.token_hex(10)}", amount, True)
            self._write("payout", key, self._refunds[key])
        return self._refunds[key]


    async def pay_buyer(self, *, buyer_id: int, amount: int, idempotency_key: str) -> Charge:
        key = f"buyer:{buyer_id}:{idempotency_key}"
        if key not in self._refunds:
            self._refunds[key] = Charge(self.name, f"sbb_{secrets.token_hex(10)}", amount, True)
            self._write("transfer", key, self._refunds[key])
        return self._refunds[key]

    async def pay_party(self, *, party_id: int, amount: int, idempotency_key: str) -> Charge:
        return self._pay_out(f"party:{party_id}:{idempotency_key}", amount)

    async def return_deposit(self, *, shop_id: int, amount: int,
                             idempotency_key: str) -> Charge:
        return self._pay_out(f"deposit-return:{shop_id}:{idempotency_key}", amount)

    def _pay_out(self, key: str, amount: int) -> Charge:
        """A transfer out of the platform, journalled as a `payout` (its key says to whom)."""
        if key not in self._refunds:
            self.payout_calls += 1
            self._refunds[key] = Charge(self.name, f"sbp_{secrets.token_hex(10)}", amount, True)
            self._write("payout", key, self._refunds[key])
        return self._refunds[key]


def build_provider(name: str = "sandbox", journal: Path | None = None) -> PaymentProvider:
    if name == "sandbox":
        return SandboxProvider(journal)
    raise ValueError(f"unknown payment provider: {name}")
