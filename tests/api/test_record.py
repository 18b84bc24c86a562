"""The session record over HTTP: what a live session did is in its log, signed, provable to
anyone without logging in; an order's evidence bundle for its buyer and the shop."""

from __future__ import annotations

import base64
import json

import httpx

from livepledge.record import merkle
from livepledge.record.note import parse_verifier_key
from livepledge.record.verify import verify_bundle, verify_chain, verify_checkpoint
from tests.api.world import assert_problem, auth, build_world


async def _settle(client: httpx.AsyncClient) -> None:
    """Let the consumers append every event, then sign (what the background loops do)."""
    from livepledge.record import service

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    await runtime.consumers.drain_all()
    await service.sign_checkpoints(runtime.db, runtime.log_key, runtime.now())


async def _order(client: httpx.AsyncClient) -> tuple[object, int]:
    world = await build_world(client, buyers=2)
    bought = await world.buy(world.buyers[0], quantity=2)
    assert bought.status_code == 201, bought.text
    await _settle(client)
    return world, bought.json()["id"]


async def test_the_log_records_the_session_and_its_checkpoint_verifies(app_client) -> None:  # type: ignore[no-untyped-def]
    world, order_id = await _order(app_client)
    vkey = (await app_client.get("/.well-known/livepledge/log-key")).text.strip()
    verifier = parse_verifier_key(vkey)
    note = await app_client.get(f"/api/v1/sessions/{world.session_id}/record/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    checkpoint = verify_checkpoint(note.text, verifier,
                                   origin=f"livepledge.localhost/session/{world.session_id}")
    page = await app_client.get(f"/api/v1/sessions/{world.session_id}/record/entries")
    assert page.status_code == 200
    body = page.json()
    entries = [json.loads(e["entry"]) for e in body["entries"]]
    assert [e["type"] for e in entries] == [
        "SessionScheduled", "LineupItemAdded", "SessionStarted", "ItemPinned", "OrderPlaced"]
    placed = entries[-1]
    assert placed["order_id"] == order_id and placed["quantity"] == 2
    assert placed["unit_price"] == 9900 and placed["sku_id"] == world.sku_id
    assert "buyer_id" not in placed and len(placed["buyer_hash"]) == 64
    assert checkpoint.size == body["tree_size"] == 5
    leaves = [merkle.leaf_hash(e["entry"].encode()) for e in body["entries"]]
    assert merkle.tree_hash(leaves) == checkpoint.root_hash
    proof = await app_client.get(f"/api/v1/sessions/{world.session_id}/record/proof/inclusion",
                                 params={"index": 4, "size": 5})
    assert proof.status_code == 200
    path = [base64.b64decode(h) for h in proof.json()["proof"]]
    assert merkle.verify_inclusion(4, 5, leaves[4], path, checkpoint.root_hash)
    assert proof.json()["tlog_proof"].startswith("c2sp.org/tlog-proof@v1\nindex 4\n")


async def test_consistency_between_checkpoints_and_the_chain_file(app_client) -> None:  # type: ignore[no-untyped-def]
    world, _ = await _order(app_client)
    first = verify_checkpoint((await app_client.get(
        f"/api/v1/sessions/{world.session_id}/record/checkpoint")).text,
        parse_verifier_key((await app_client.get("/.well-known/livepledge/log-key")).text))
    assert (await world.buy(world.buyers[1])).status_code == 201
    assert (await app_client.post(f"/api/v1/sessions/{world.session_id}/end",
                                  headers=auth(world.anchor))).status_code == 200
    await _settle(app_client)
    chain = (await app_client.get(f"/api/v1/sessions/{world.session_id}/record/checkpoints"))
    assert chain.status_code == 200
    report = verify_chain(chain.json())
    assert report.ok, report.failures
    sizes = [verify_checkpoint(n, parse_verifier_key(chain.json()["log_key"])).size
             for n in chain.json()["checkpoints"]]
    assert sizes == [first.size, 7]
    proof = await app_client.get(
        f"/api/v1/sessions/{world.session_id}/record/proof/consistency",
        params={"first": first.size, "second": 7})
    assert proof.status_code == 200
    last = verify_checkpoint(chain.json()["checkpoints"][-1],
                             parse_verifier_key(chain.json()["log_key"]))
    assert merkle.verify_consistency(first.size, 7, first.root_hash, last.root_hash,
                                     [base64.b64decode(h) for h in proof.json()["proof"]])


async def test_evidence_bundle_for_the_buyer_and_the_shop_but_no_one_else(app_client) -> None:  # type: ignore[no-untyped-def]
    world, order_id = await _order(app_client)
    url = f"/api/v1/orders/{order_id}/evidence"
    mine = await app_client.get(url, headers=auth(world.buyers[0]))
    assert mine.status_code == 200, mine.text
    bundle = mine.json()
    assert bundle["kind"] == "livepledge-evidence/v1" and bundle["order_id"] == order_id
    assert [e["role"] for e in bundle["entries"]] == ["lineup", "session", "pin", "order"]
    report = verify_bundle(bundle)
    assert report.ok, report.failures
    shop = await app_client.get(url, headers=auth(world.merchant))
    assert shop.status_code == 200 and shop.json() == bundle
    assert_problem(await app_client.get(url, headers=auth(world.buyers[1])), 404, "not_found")
    assert_problem(await app_client.get(url), 401, "unauthenticated")


async def test_evidence_waits_for_a_signed_checkpoint(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, buyers=1)
    bought = await world.buy(world.buyers[0])
    url = f"/api/v1/orders/{bought.json()['id']}/evidence"
    assert_problem(await app_client.get(url, headers=auth(world.buyers[0])), 409,
                   "record_pending")
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    await runtime.consumers.drain_all()
    assert_problem(await app_client.get(url, headers=auth(world.buyers[0])), 409,
                   "record_pending")


async def test_bad_ranges_and_sizes_are_refused(app_client) -> None:  # type: ignore[no-untyped-def]
    world, _ = await _order(app_client)
    base = f"/api/v1/sessions/{world.session_id}/record"
    for path, params in [("/entries", {"start": 3, "end": 2}), ("/entries", {"end": 6}),
                         ("/proof/inclusion", {"index": 5, "size": 5}),
                         ("/proof/inclusion", {"index": 0, "size": 6}),
                         ("/proof/consistency", {"first": 3, "second": 2}),
                         ("/proof/consistency", {"first": 1, "second": 9})]:
        assert_problem(await app_client.get(base + path, params=params), 400, "invalid_request")
    assert_problem(await app_client.get(base + "/entries", params={"start": -1}), 422,
                   "validation_failed")
    for path in ("/checkpoint", "/entries", "/checkpoints"):
        assert_problem(await app_client.get(f"/api/v1/sessions/987654/record{path}"), 404,
                       "not_found")



async def test_evidence_carries_the_promises_prices_and_words_in_force(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, buyers=1)
    declared = await app_client.post(f"/api/v1/shops/{world.shop_id}/promises",
                                     headers=auth(world.merchant), json={
        "kind": "price_protection", "terms": {"days": 30},
        "scope": {"type": "product", "id": world.product_id}})
    assert declared.status_code == 201, declared.text
    said = await app_client.post(f"/api/v1/sessions/{world.session_id}/transcript",
                                 headers=auth(world.anchor),
                                 json={"text": "这款红茶是云南临沧的春茶"})
    assert said.status_code in (200, 201), said.text
    priced = await app_client.patch(f"/api/v1/skus/{world.sku_id}", headers=auth(world.merchant),
                                    json={"price": 11900})
    assert priced.status_code == 200, priced.text
    bought = await world.buy(world.buyers[0])
    assert bought.status_code == 201, bought.text
    await _settle(app_client)
    bundle = (await app_client.get(f"/api/v1/orders/{bought.json()['id']}/evidence",
                                   headers=auth(world.buyers[0]))).json()
    assert verify_bundle(bundle).ok
    by_role = {e["role"]: json.loads(e["entry"]) for e in bundle["entries"]}
    assert [e["role"] for e in bundle["entries"]] == [
        "lineup", "session", "pin", "promise", "speech", "price", "order"]
    assert by_role["promise"]["terms"] == {"days": 30, "excludes_flash_sale": False}
    assert by_role["speech"]["text"] == "这款红茶是云南临沧的春茶"
    assert (by_role["price"]["price"], by_role["price"]["previous"]) == (11900, 12900)


async def test_a_downloaded_bundle_verifies_offline_against_the_published_key(  # type: ignore[no-untyped-def]
        app_client, tmp_path) -> None:
    from livepledge.record.cli import verify_command

    world, order_id = await _order(app_client)
    response = await app_client.get(f"/api/v1/orders/{order_id}/evidence",
                                    headers=auth(world.buyers[0]))
    assert response.headers["content-disposition"] == (
        f'attachment; filename="order-{order_id}.evidence.json"')
    path = tmp_path / "evidence.json"
    path.write_bytes(response.content)
    vkey = (await app_client.get("/.well-known/livepledge/log-key")).text.strip()
    code, text = verify_command(path, vkey)
    assert code == 0, text
    assert "order: entry #4 (OrderPlaced" in text
    path.write_text(response.text.replace('\\"quantity\\":2', '\\"quantity\\":1'))
    code, text = verify_command(path, vkey)
    assert code == 1 and "entry 4: entry 4 is not in the signed tree" in text
