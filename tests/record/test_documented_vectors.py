"""The test vectors of docs/record.md, recomputed with plain hashlib and libsodium (PyNaCl), not
with livepledge.record: a stranger following the document gets the same bytes. And the document
shows exactly these values."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import nacl.signing

DOC = (Path(__file__).resolve().parents[2] / "docs" / "record.md").read_text(encoding="utf-8")
ENTRIES = [
    '{"event_id":101,"session_id":7,"time":"2026-12-05T12:00:00.000000Z",'
    '"type":"SessionStarted","v":1}',
    '{"event_id":102,"item_id":3,"live_price":9900,"session_id":7,"sku_id":4,'
    '"stock_allocated":50,"time":"2026-12-05T12:00:05.000000Z","type":"LineupItemAdded","v":1}',
    '{"buyer_hash":"5f0b2c1a' + "0" * 56 + '","event_id":107,"item_id":3,"order_id":99,'
    '"quantity":2,"session_id":7,"sku_id":4,"time":"2026-12-05T12:01:00.250000Z",'
    '"type":"OrderPlaced","unit_price":9900,"v":1}',
]
LEAVES = ["e4a53c4eb2284cc508e4713f4c5b48e9a3e6c1a229fe162858c1cdeac2327798",
          "056091520bd1eea5cf506ef10da33be985d990e6d2041dc6a0ca4f024e5932fa",
          "0b4ebf9c89a22b5a22633199bbcd051ca8628c4b97c235c8621f6aae12c5cb1e"]
ROOT = "eef7119cbc3298b222dd47026697fd80a04233866382c07f1a4d1d7c8be6308c"
VKEY = "example.com/livepledge+9cab4817+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
SIGNATURE = ("nKtIFxXyQcB5FF5lFfY4FWy8EPjmit+CF0ElIZ8wuOgjE6wFkAxE8yPOllMISFW5WvamoVGCQyBeL9"
             "byCs2Zz4UZ6Qc=")


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_leaves_and_root_by_hand() -> None:
    leaves = [sha(b"\x00" + e.encode()) for e in ENTRIES]
    assert [h.hex() for h in leaves] == LEAVES
    root = sha(b"\x01" + sha(b"\x01" + leaves[0] + leaves[1]) + leaves[2])
    assert root.hex() == ROOT
    assert base64.b64encode(leaves[0]).decode() == "5KU8TrIoTMUI5HE/TFtI6aPmwaIp/hYoWMHN6sIyd5g="
    # inclusion of index 2 in size 3: its sibling is the hash of [0, 2)
    assert sha(b"\x01" + leaves[0] + leaves[1]).hex() == (
        "fc3ae2c6da28d096ced55384196e4b1105127b88953d6b02e63e502faeadb7ed")


def test_key_and_signature_by_hand_with_libsodium() -> None:
    seed = bytes(range(32))
    key = nacl.signing.SigningKey(seed)
    public = bytes(key.verify_key)
    name = "example.com/livepledge"
    key_id = sha(name.encode() + b"\n\x01" + public)[:4]
    encoded = base64.b64encode(b"\x01" + public).decode()
    assert f"{name}+{key_id.hex()}+{encoded}" == VKEY
    text = ("example.com/livepledge/session/7\n3\n"
            + base64.b64encode(bytes.fromhex(ROOT)).decode() + "\n")
    assert base64.b64encode(key_id + key.sign(text.encode()).signature).decode() == SIGNATURE


def test_the_document_shows_these_values() -> None:
    for value in [*ENTRIES, *LEAVES, ROOT, VKEY, SIGNATURE]:
        assert value in DOC
