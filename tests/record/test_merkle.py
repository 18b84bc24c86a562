"""RFC 6962 / 9162 hashing and proofs: known answers from an independent implementation
(transparency-dev/merkle's published test data, the Go library Certificate Transparency and
Sigstore use), and properties over random trees."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.record import merkle

VECTORS = json.loads((Path(__file__).parent / "vectors" / "transparency_dev_merkle.json")
                     .read_text(encoding="utf-8"))

# RFC 6962 test leaves and the roots of each prefix (transparency-dev/merkle testonly).
LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243",
                                     "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [bytes.fromhex(h) for h in [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]]
LEAF_HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def b64(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


def test_hashes_use_the_rfc_6962_prefixes() -> None:
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.tree_hash([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_tree_hash_matches_the_published_roots(size: int) -> None:
    assert merkle.tree_hash(LEAF_HASHES[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_compact_range_root_matches_the_published_roots(size: int) -> None:
    compact = merkle.CompactRange(0, [])
    for leaf in LEAF_HASHES[:size]:
        compact.append(leaf)
    assert compact.root() == ROOTS[size]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: c["file"])
def test_inclusion_vectors(case: dict) -> None:
    ok = merkle.verify_inclusion(case["leafIdx"], case["treeSize"],
                                 base64.b64decode(case["leafHash"] or ""), b64(case["proof"]),
                                 base64.b64decode(case["root"] or ""))
    assert ok is not case["wantErr"]


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: c["file"])
def test_consistency_vectors(case: dict) -> None:
    ok = merkle.verify_consistency(case["size1"], case["size2"],
                                   base64.b64decode(case["root1"] or ""),
                                   base64.b64decode(case["root2"] or ""), b64(case["proof"]))
    assert ok is not case["wantErr"]


@pytest.mark.parametrize("case", [c for c in VECTORS["inclusion"] if not c["wantErr"]
                                  and c["treeSize"] <= 8], ids=lambda c: c["file"])
def test_our_inclusion_proofs_equal_the_published_ones(case: dict) -> None:
    proof = merkle.inclusion_proof(case["leafIdx"], LEAF_HASHES[:case["treeSize"]])
    assert proof == b64(case["proof"])


@pytest.mark.parametrize("case", [c for c in VECTORS["consistency"] if not c["wantErr"]
                                  and c["size1"] > 0 and c["size2"] <= 8],
                         ids=lambda c: c["file"])
def test_our_consistency_proofs_equal_the_published_ones(case: dict) -> None:
    proof = merkle.consistency_proof(case["size1"], LEAF_HASHES[:case["size2"]])
    assert proof == b64(case["proof"])


def test_every_inclusion_and_consistency_proof_of_the_test_tree_verifies() -> None:
    for size in range(1, 9):
        for index in range(size):
            proof = merkle.inclusion_proof(index, LEAF_HASHES[:size])
            assert merkle.verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size])
        for first in range(1, size + 1):
            proof = merkle.consistency_proof(first, LEAF_HASHES[:size])
            assert merkle.verify_consistency(first, size, ROOTS[first], ROOTS[size], proof)


def test_range_nodes_refuses_ranges_no_proof_uses() -> None:
    assert merkle.range_nodes(4, 7) == [(1, 2), (0, 6)]
    with pytest.raises(ValueError):
        merkle.range_nodes(3, 5)


trees = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_proofs_from_stored_nodes_equal_proofs_from_leaves(leaves: list[bytes],
                                                           data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    compact = merkle.CompactRange(0, [])
    stored: dict[tuple[int, int], bytes] = {}
    for h in hashes:
        for level, index, value in compact.append(h):
            stored[(level, index)] = value
    size = len(hashes)
    assert compact.root() == merkle.tree_hash(hashes)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))
    ranges = merkle.inclusion_ranges(index, size)
    assert merkle.nodes_for(ranges) <= stored.keys()
    assert merkle.proof_from_nodes(ranges, lambda lv, i: stored[(lv, i)]) == \
        merkle.inclusion_proof(index, hashes)
    consistency = merkle.consistency_ranges(first, size)
    assert merkle.proof_from_nodes(consistency, lambda lv, i: stored[(lv, i)]) == \
        merkle.consistency_proof(first, hashes)
    # a compact range resumed from the stored edge continues identically (restart)
    edge = merkle.CompactRange.edge(first)
    resumed = merkle.CompactRange(first, [stored[n] for n in edge])
    for h in hashes[first:]:
        resumed.append(h)
    assert resumed.root() == compact.root()


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_any_change_to_the_log_fails_inclusion(leaves: list[bytes], data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    root, size = merkle.tree_hash(hashes), len(hashes)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(index, hashes)
    assert merkle.verify_inclusion(index, size, hashes[index], proof, root)
    # a changed byte of the entry
    entry = bytearray(leaves[index] or b"\x00")
    position = data.draw(st.integers(0, len(entry) - 1))
    entry[position] ^= data.draw(st.integers(1, 255))
    if bytes(entry) != leaves[index]:
        assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(bytes(entry)), proof,
                                           root)
    # the same entry claimed at another index, or a proof against a truncated log
    other = data.draw(st.integers(0, size - 1))
    if other != index and hashes[other] != hashes[index]:
        assert not merkle.verify_inclusion(other, size, hashes[index], proof, root)
    if size > 1:
        truncated = merkle.tree_hash(hashes[:-1])
        assert not merkle.verify_inclusion(index, size, hashes[index], proof, truncated)
    # a flipped bit anywhere in the proof
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[which] = bytes([bad[which][0] ^ 1]) + bad[which][1:]
        assert not merkle.verify_inclusion(index, size, hashes[index], bad, root)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_consistency_holds_for_prefixes_and_fails_for_rewrites(leaves: list[bytes],
                                                               data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    size = len(hashes)
    first = data.draw(st.integers(1, size))
    proof = merkle.consistency_proof(first, hashes)
    old_root, root = merkle.tree_hash(hashes[:first]), merkle.tree_hash(hashes)
    assert merkle.verify_consistency(first, size, old_root, root, proof)
    # rewrite one entry of the old tree, swap two, or drop one: the new tree no longer extends it
    index = data.draw(st.integers(0, first - 1))
    changed = list(hashes)
    changed[index] = merkle.leaf_hash(leaves[index] + b"!")
    assert not merkle.verify_consistency(first, size, old_root, merkle.tree_hash(changed),
                                         merkle.consistency_proof(first, changed))
    if size > 1:
        j = data.draw(st.integers(0, size - 1))
        swapped = list(hashes)
        swapped[index], swapped[j] = swapped[j], swapped[index]
        if swapped[:first] != hashes[:first]:
            assert not merkle.verify_consistency(first, size, old_root,
                                                 merkle.tree_hash(swapped),
                                                 merkle.consistency_proof(first, swapped))
        dropped = hashes[:index] + hashes[index + 1:]
        if first <= len(dropped) and dropped[:first] != hashes[:first]:
            assert not merkle.verify_consistency(
                first, len(dropped), old_root, merkle.tree_hash(dropped),
                merkle.consistency_proof(first, dropped))
