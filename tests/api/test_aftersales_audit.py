"""The shop audit's net GMV counts every refund — cancellations, after-sales cases (whole or
partial) — and not the compensation paid on top (it is not sales coming back)."""

from __future__ import annotations

import httpx

from tests.api.aftersales_support import open_case, paid
from tests.api.world import auth, build_world


async def test_net_gmv_is_gross_minus_every_refund(app_client: httpx.AsyncClient):
    w = await build_world(app_client, allocated=10, limit=1, buyers=4)
    cancelled, partial, whole, kept = [await paid(w, t, ship=i > 0, receive=i > 0)
                                       for i, t in enumerate(w.buyers)]
    cancel = await app_client.post(f"/api/v1/orders/{cancelled}/cancel",
                                   headers=auth(w.merchant),
                                   json={"reason_code": "out_of_stock", "reason": "缺货，全额退款"})
    assert cancel.json()["status"] == "cancelled", cancel.text
    offered = (await open_case(w, w.buyers[1], partial, type="return_refund",
                               reason="quality")).json()
    await app_client.post(f"/api/v1/cases/{offered['id']}/merchant", headers=auth(w.merchant),
                          json={"action": "offer", "amount": 3000, "text": "小瑕疵补偿"})
    accepted = await app_client.post(f"/api/v1/cases/{offered['id']}/buyer",
                                     headers=auth(w.buyers[1]), json={"action": "accept_offer"})
    assert accepted.json()["refunded"] == 3000
    full = (await open_case(w, w.buyers[2], whole, type="return_refund",
                            reason="quality")).json()
    approved = await app_client.post(f"/api/v1/cases/{full['id']}/merchant",
                                     headers=auth(w.merchant), json={"action": "approve",
                                                                     "return_address": {
        "recipient": "售后部", "phone": "13800138000", "province": "浙江省", "city": "杭州市",
        "district": "余杭区", "detail": "文一西路 1 号"}})
    assert approved.status_code == 200
    await app_client.post(f"/api/v1/cases/{full['id']}/buyer", headers=auth(w.buyers[2]),
                          json={"action": "ship_return", "carrier": "中通快递",
                                "tracking_number": "ZT4455"})
    confirmed = await app_client.post(f"/api/v1/cases/{full['id']}/return-received",
                                      headers=auth(w.merchant))
    assert confirmed.json()["refunded"] == 9900
    compensated = (await app_client.get(f"/api/v1/orders/{cancelled}",
                                        headers=auth(w.buyers[0]))).json()["compensated_total"]

    audit = (await app_client.get(f"/api/v1/shops/{w.shop_id}/audit",
                                  headers=auth(w.merchant))).json()["sales"]["summary"]
    refunds = 9900 + 3000 + 9900
    assert (audit["gross_fen"], audit["refunded_fen"], audit["net_fen"]) == (
        4 * 9900, refunds, 4 * 9900 - refunds), f"compensation paid on top: {compensated}"
    assert kept and compensated > 0  # the cancellation did pay compensation on top
