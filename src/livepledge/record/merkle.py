"""RFC 6962 / RFC 9162 §2.1.1 Merkle tree hash (SHA-256, 0x00 leaf and 0x01 node prefixes).

Pure: no storage, no web. The session record and the lottery draw share these functions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already leaf-hashed values: the empty tree is SHA-256(""); otherwise split at
    the largest power of two smaller than n and hash the two subtrees' roots."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(tree_hash(leaf_hashes[:k]), tree_hash(leaf_hashes[k:]))
