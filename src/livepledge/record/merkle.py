"""RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, proofs and their verification.

Pure: no storage, no web, no clock. The server, the CLI and an outside verifier run these same
functions (docs/record.md specifies every byte).

Hashing (RFC 9162 §2.1.1): SHA-256; a leaf hashes as SHA-256(0x00 || data), an interior node as
SHA-256(0x01 || left || right); the tree of n leaves splits at k, the largest power of two
smaller than n; the hash of the empty tree is SHA-256 of the empty string.

Proofs are made from any source of subtree hashes: `inclusion_ranges` / `consistency_ranges`
name the leaf ranges whose hashes form a proof, and `range_nodes` splits each range into complete
aligned subtrees (level, index), so a store that keeps the hash of every complete subtree answers
a proof in a 1,000,000-entry log with a few dozen reads instead of hashing a million leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

# (level, index): the complete subtree of leaves [index·2^level, (index+1)·2^level)
Node = tuple[int, int]
NodeReader = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """k, the largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already leaf-hashed values (RFC 9162 §2.1.1)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _fold([h for _, h in _complete_subtrees(leaf_hashes)])


def _complete_subtrees(leaf_hashes: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """The greedy split of [0, n) into complete subtrees, largest first, with their hashes."""
    stack: list[tuple[int, bytes]] = []  # (level, hash)
    for h in leaf_hashes:
        level, current = 0, h
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
        stack.append((level, current))
    return stack


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Complete subtrees left to right, largest first → the hash of their union."""
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


# Proof shapes: which leaf ranges' hashes a proof consists of.

def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, as leaf ranges, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi, m = 0, size, index
    stack: list[tuple[int, int]] = []
    while hi - lo > 1:
        k = split_point(hi - lo)
        if m < k:
            stack.append((lo + k, hi))
            hi = lo + k
        else:
            stack.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.extend(reversed(stack))
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1, as leaf ranges. Empty when
    first == second or first == 0 (nothing to prove)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    stack: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            stack.append((lo + k, hi))
            hi = lo + k
        else:
            stack.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    out = [] if whole else [(lo, hi)]
    out.extend(reversed(stack))
    return out


def range_nodes(start: int, end: int) -> list[Node]:
    """[start, end) as complete aligned subtrees, largest first; their fold is MTH(D[start:end])
    for every range a proof uses (start is a multiple of the power of two ≥ end - start)."""
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    width = 1 << (end - start - 1).bit_length()
    if start % width:
        raise ValueError(f"range [{start}, {end}) is not a subtree of an RFC 6962 tree")
    nodes: list[Node] = []
    position = start
    while position < end:
        level = (end - position).bit_length() - 1
        while position % (1 << level):
            level -= 1
        nodes.append((level, position >> level))
        position += 1 << level
    return nodes


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    """Every complete subtree whose hash the given ranges need (one query for a whole proof)."""
    return {node for start, end in ranges for node in range_nodes(start, end)}


def range_hash(start: int, end: int, read: NodeReader) -> bytes:
    return _fold([read(level, index) for level, index in range_nodes(start, end)])


def proof_from_nodes(ranges: Sequence[tuple[int, int]], read: NodeReader) -> list[bytes]:
    return [range_hash(start, end, read) for start, end in ranges]


def leaves_reader(leaf_hashes: Sequence[bytes]) -> NodeReader:
    """A NodeReader over leaf hashes held in memory (tests, the CLI, small logs)."""
    cache: dict[Node, bytes] = {}

    def read(level: int, index: int) -> bytes:
        if level == 0:
            return leaf_hashes[index]
        found = cache.get((level, index))
        if found is None:
            found = node_hash(read(level - 1, 2 * index), read(level - 1, 2 * index + 1))
            cache[(level, index)] = found
        return found

    return read


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    return proof_from_nodes(inclusion_ranges(index, len(leaf_hashes)), leaves_reader(leaf_hashes))


def consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    return proof_from_nodes(consistency_ranges(first, len(leaf_hashes)),
                            leaves_reader(leaf_hashes))


class CompactRange:
    """The right edge of a growing tree: the complete subtrees that cover [0, size). Appending
    a leaf returns the complete subtrees it finishes (to store), and `root()` is the tree hash."""

    def __init__(self, size: int, hashes: Sequence[bytes]) -> None:
        expected = range_nodes(0, size) if size else []
        if len(hashes) != len(expected):
            raise ValueError(f"a tree of size {size} has {len(expected)} edge subtrees, "
                             f"got {len(hashes)}")
        self.size = size
        self.levels = [level for level, _ in expected]
        self.hashes = list(hashes)

    @staticmethod
    def edge(size: int) -> list[Node]:
        """The complete subtrees whose hashes a CompactRange of this size starts from."""
        return range_nodes(0, size) if size else []

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns (level, index, hash) of every subtree it completes,
        the leaf itself (level 0) first."""
        index = self.size
        made = [(0, index, leaf)]
        level, current = 0, leaf
        while self.levels and self.levels[-1] == level:
            self.levels.pop()
            current = node_hash(self.hashes.pop(), current)
            level += 1
            made.append((level, index >> level, current))
        self.levels.append(level)
        self.hashes.append(current)
        self.size += 1
        return made

    def root(self) -> bytes:
        return _fold(self.hashes) if self.hashes else EMPTY_ROOT


# Verification: RFC 9162 §2.1.3.2 and §2.1.4.2, step by step.

def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root the proof leads to, or None when the proof cannot be for (index, size)."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """True iff `proof` shows the leaf hash at `index` in the tree of `size` with `root`."""
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """True iff `proof` shows the tree (first, first_root) is a prefix of (second, second_root).
    A proof from the empty tree is meaningless (RFC 9162 defines none) and is refused; a
    caller treats size 0 as trivially consistent."""
    if not 0 < first <= second or any(len(p) != HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
