"""The lottery draw, commit–reveal (docs/lottery.md specifies every byte).

Pure: imports nothing from storage or web, so the server, `livepledge verify-lottery` and an
outside verifier run the same functions.

- seed: 32 random bytes drawn by the server when the lottery is created, kept secret until the
  entry window has closed; its commitment SHA-256(seed) is published at creation.
- entrant hash: SHA-256(nonce || ASCII decimal user id) with a 16-byte random nonce per entry;
  the entrant is shown nonce and hash, nobody else can link the hash to them.
- entry root: the RFC 6962 Merkle tree hash over the entrant hashes (32 raw bytes each, one
  leaf per entry) in entry order.
- winners: a partial Fisher–Yates shuffle of the entry indexes driven by a deterministic stream
  of 64-bit numbers, HMAC-SHA256(key=seed, message=entry root || counter as 8-byte big-endian)
  with the counter from 0, first 8 bytes big-endian; a number is used for a choice among m only
  if it is below the largest multiple of m that fits in 2^64 (rejection sampling, no modulo
  bias), else it is discarded and the next counter is used."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from livepledge.record.merkle import leaf_hash, tree_hash

SEED_BYTES = 32
NONCE_BYTES = 16
HASH_BYTES = 32
ALGORITHM = "livepledge-draw/v1: HMAC-SHA256 counter stream, rejection sampling, " \
            "partial Fisher-Yates over RFC 6962 entry root"
_SPACE = 1 << 64


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def commitment(seed: bytes) -> bytes:
    """What is published before any entry: SHA-256(seed)."""
    return hashlib.sha256(seed).digest()


def entrant_hash(nonce: bytes, user_id: int) -> bytes:
    """SHA-256(nonce || ASCII decimal user id): reveals no one without the nonce."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    return hashlib.sha256(nonce + str(int(user_id)).encode("ascii")).digest()


def entry_root(entrant_hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over the entrant hashes in entry order (each 32 raw bytes is
    one leaf's data)."""
    for value in entrant_hashes:
        if len(value) != HASH_BYTES:
            raise ValueError("an entrant hash is 32 bytes")
    return tree_hash([leaf_hash(value) for value in entrant_hashes])


def random_stream(seed: bytes, root: bytes) -> Iterator[int]:
    """64-bit numbers: the first 8 bytes (big-endian) of HMAC-SHA256(seed, root || counter)
    for counter = 0, 1, 2, ... (8-byte big-endian)."""
    counter = 0
    while True:
        block = hmac.new(seed, root + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        yield int.from_bytes(block[:8], "big")
        counter += 1


def uniform_below(stream: Iterator[int], m: int) -> int:
    """A number in [0, m) with no modulo bias: values at or above the largest multiple of m
    that fits in 2^64 are discarded."""
    if not 1 <= m <= _SPACE:
        raise ValueError("m must be in [1, 2^64]")
    limit = _SPACE - _SPACE % m
    for value in stream:
        if value < limit:
            return value % m
    raise AssertionError("unreachable: the stream is endless")


def winner_indexes(seed: bytes, root: bytes, entry_count: int, winners: int) -> list[int]:
    """Indexes (0-based, in entry order) of the winners, in the order they were drawn:
    min(winners, entry_count) distinct indexes by a partial Fisher–Yates shuffle — for step
    i = 0, 1, ... pick j = i + uniform(entry_count - i) and swap positions i and j; the winner
    of step i is the index then at position i."""
    if entry_count < 0 or winners < 0:
        raise ValueError("counts are not negative")
    order = list(range(entry_count))
    stream = random_stream(seed, root)
    for i in range(min(winners, entry_count)):
        j = i + uniform_below(stream, entry_count - i)
        order[i], order[j] = order[j], order[i]
    return order[:min(winners, entry_count)]


@dataclass(frozen=True)
class DrawResult:
    entry_root: bytes
    indexes: tuple[int, ...]
    winners: tuple[bytes, ...]  # the winners' entrant hashes, in drawn order


def draw(seed: bytes, entrant_hashes: Sequence[bytes], winners: int) -> DrawResult:
    """The whole draw from public data once the seed is revealed."""
    if len(seed) != SEED_BYTES:
        raise ValueError(f"the seed is {SEED_BYTES} bytes")
    root = entry_root(entrant_hashes)
    indexes = winner_indexes(seed, root, len(entrant_hashes), winners)
    return DrawResult(entry_root=root, indexes=tuple(indexes),
                      winners=tuple(entrant_hashes[i] for i in indexes))
