from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from livepledge.aftersales import rules, service
from livepledge.aftersales.schemas import (
    BuyerAction,
    CaseOpen,
    ClockAdvance,
    Escalation,
    MerchantAction,
    MessageIn,
    Ruling,
)
from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.infra.problems import Problem
from livepledge.openapi import errors

CASE_EXAMPLE: dict[str, Any] = {
    "id": 41, "order_id": 1207, "buyer_id": 9, "shop_id": 3, "session_id": 12,
    "type": "return_refund", "reason": "no_reason", "promise_id": None, "quantity": 1,
    "amount": 9900, "offered_amount": None, "status": "awaiting_merchant", "outcome": None,
    "refunded": 0, "awarded": 0, "return_address": None, "return_carrier": None,
    "return_tracking": None, "deadline": "2026-12-07T12:00:00+00:00",
    "opened_at": "2026-12-05T12:00:00+00:00", "decided_at": None, "closed_at": None,
    "record": [{"id": 301, "case_id": 41, "at": "2026-12-05T12:00:00+00:00", "actor": "buyer",
                "actor_id": 9, "kind": "opened", "text": "尺码不合适 / does not fit",
                "data": {"type": "return_refund", "reason": "no_reason", "amount": 9900,
                         "quantity": 1}}],
}


def _case_response(status: int, description: str, *more: int) -> dict[int | str, Any]:
    responses: dict[int | str, Any] = {status: {
        "description": description,
        "content": {"application/json": {"example": CASE_EXAMPLE}}}}
    responses.update(errors(*more))
    return responses


OPEN_EXAMPLES = {
    "no_reason_return": {"summary": "七天无理由退货 / 7-day no-reason return", "value": {
        "type": "return_refund", "reason": "no_reason", "text": "尺码不合适 / does not fit"}},
    "refund_unshipped": {"summary": "未发货仅退款（立即退款）/ refund before shipping (at once)",
                         "value": {"type": "refund_only", "reason": "not_shipped"}},
    "missing_gift": {"summary": "赠品未收到 / the promised gift is missing", "value": {
        "type": "promise_breach", "reason": "promise", "promise_id": 7, "amount": 500,
        "text": "直播间承诺的赠品没有收到 / the gift promised in the live room is missing"}},
    "counterfeit": {"summary": "假一赔N / counterfeit claim", "value": {
        "type": "counterfeit", "reason": "counterfeit", "text": "鉴定报告见照片 / appraisal "
                                                                "attached"}},
}
MERCHANT_EXAMPLES = {
    "approve_return": {"summary": "同意退货并给出退货地址 / approve with a return address",
                       "value": {"action": "approve", "return_address": {
                           "recipient": "售后部", "phone": "13800138000", "province": "浙江省",
                           "city": "杭州市", "district": "余杭区", "detail": "文一西路 1 号"}}},
    "refuse": {"summary": "拒绝并说明理由 / refuse with a reason", "value": {
        "action": "refuse", "text": "商品已使用，影响二次销售 / the goods were used"}},
    "offer": {"summary": "部分退款 / offer a partial refund", "value": {
        "action": "offer", "amount": 3000, "text": "轻微瑕疵，补偿 30 元 / minor flaw"}},
}
BUYER_EXAMPLES = {
    "ship_return": {"summary": "寄回商品 / ship the return", "value": {
        "action": "ship_return", "carrier": "中通快递", "tracking_number": "ZT998877"}},
    "accept_offer": {"summary": "接受部分退款 / accept the offer",
                     "value": {"action": "accept_offer"}},
    "withdraw": {"summary": "撤回申请 / withdraw", "value": {"action": "withdraw"}},
}

router = APIRouter(prefix="/api/v1", tags=["aftersales"])


@router.post("/orders/{order_id}/cases", status_code=201,
             responses=_case_response(201, "售后单已创建 / the case, with its record", 409))
async def open_case(order_id: int,
                    body: Annotated[CaseOpen, Body(openapi_examples=OPEN_EXAMPLES)],
                    principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    """Open an after-sales case on my order (docs/aftersales.md)."""
    return await service.open_case(
        rt.db, rt.payments, principal, order_id, case_type=body.type, reason=body.reason,
        quantity=body.quantity, amount=body.amount, promise_id=body.promise_id, text=body.text,
        cfg=rt.aftersales, now=rt.now())


@router.get("/cases/{case_id}", responses=_case_response(200, "售后单及其记录 / the case"))
async def get_case(case_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """A case and its whole record, the same for the buyer and the shop."""
    return await service.get_case(rt.db, principal, case_id)


@router.post("/cases/{case_id}/merchant",
             responses=_case_response(200, "处理后的售后单 / the case after the answer", 409))
async def merchant_act(case_id: int,
                       body: Annotated[MerchantAction, Body(openapi_examples=MERCHANT_EXAMPLES)],
                       principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """The shop answers: approve (with a return address for a return), refuse with a reason,
    or offer a partial refund."""
    address = body.return_address.model_dump() if body.return_address else None
    return await service.merchant_act(rt.db, rt.payments, principal, case_id,
                                      action=body.action, text=body.text, amount=body.amount,
                                      address=address, cfg=rt.aftersales, now=rt.now())


@router.post("/cases/{case_id}/buyer",
             responses=_case_response(200, "处理后的售后单 / the case after the answer", 409))
async def buyer_act(case_id: int,
                    body: Annotated[BuyerAction, Body(openapi_examples=BUYER_EXAMPLES)],
                    principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    """The buyer answers an offer, ships the return, or withdraws the case."""
    return await service.buyer_act(rt.db, rt.payments, principal, case_id, action=body.action,
                                   carrier=body.carrier, tracking=body.tracking_number,
                                   cfg=rt.aftersales, now=rt.now())


@router.post("/cases/{case_id}/return-received",
             responses=_case_response(200, "已退款 / refunded", 409))
async def confirm_return(case_id: int, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    """The shop confirms the returned goods: the buyer is refunded."""
    return await service.confirm_return(rt.db, rt.payments, principal, case_id,
                                        cfg=rt.aftersales, now=rt.now())


@router.get("/shops/{shop_id}/cases")
async def shop_queue(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                     status: str | None = Query(default=None, max_length=20),
                     type: str | None = Query(default=None, max_length=20),
                     session_id: int | None = Query(default=None, ge=1, le=2**63 - 1,
                                                    description="one live session's cases"),
                     anchor_id: int | None = Query(default=None, ge=1, le=2**63 - 1,
                                                   description="cases from the sessions this "
                                                               "anchor hosted"),
                     limit: int = Query(default=50, ge=1, le=200),
                     offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[dict[str, Any]]:
    """The shop's cases: open ones first, soonest deadline first."""
    return await service.shop_queue(rt.db, principal, shop_id, status=status, case_type=type,
                                    limit=limit, offset=offset, session_id=session_id,
                                    anchor_id=anchor_id)


@router.post("/cases/{case_id}/escalate",
             responses=_case_response(200, "已提交平台 / escalated to the platform", 409))
async def escalate(case_id: int, body: Escalation, principal: PrincipalDep,
                   rt: RuntimeDep) -> dict[str, Any]:
    """The buyer takes a case the shop refused to the platform (申请平台介入); an operator
    decides it before its deadline, or the buyer is refunded."""
    return await service.escalate(rt.db, principal, case_id, text=body.text, cfg=rt.aftersales,
                                  now=rt.now())


@router.get("/operator/cases")
async def escalations(principal: PrincipalDep, rt: RuntimeDep,
                      status: str | None = Query(default=None, max_length=20,
                                                 description="escalated (default), closed, "
                                                             "or all"),
                      limit: int = Query(default=50, ge=1, le=200),
                      offset: int = Query(default=0, ge=0, le=1_000_000),
                      ) -> list[dict[str, Any]]:
    """Platform operators: the escalated cases, soonest deadline first."""
    return await service.escalations(rt.db, principal, status=status, limit=limit,
                                     offset=offset)


@router.post("/cases/{case_id}/ruling",
             responses=_case_response(200, "已裁决（最终）/ ruled (final)", 409))
async def rule(case_id: int, body: Annotated[Ruling, Body(openapi_examples={
        "for_buyer": {"summary": "支持买家 / for the buyer", "value": {
            "decision": "buyer", "text": "商品与直播间描述不符 / not as described on air"}},
        "for_shop": {"summary": "支持商家 / for the shop", "value": {
            "decision": "shop", "text": "鉴定报告不成立 / the appraisal does not hold"}}})],
               principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """A platform operator decides an escalated case with a reason: for the buyer (refund of
    the amount asked, or less) or for the shop. The decision is final and on the timeline."""
    return await service.rule(rt.db, rt.payments, principal, case_id, decision=body.decision,
                              amount=body.amount, text=body.text, cfg=rt.aftersales,
                              now=rt.now())


MESSAGE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/MessageIn"}, "examples": {
        "text": {"summary": "留言 / a message", "value": {
            "text": "快递显示已签收，但我没有收到 / tracking says delivered, I have nothing"}}}},
    "multipart/form-data": {"schema": {
        "type": "object", "properties": {
            "text": {"type": "string", "maxLength": rules.MESSAGE_MAX_CHARS},
            "photos": {"type": "array", "maxItems": rules.PHOTOS_PER_MESSAGE,
                       "items": {"type": "string", "format": "binary"}}}}}}}}


@router.post("/cases/{case_id}/messages", status_code=201,
             responses=_case_response(201, "消息已记入时间线（`message.held`：被拦截，仅你可见）"
                                           " / the message is on the timeline (`message.held`: "
                                           "held back, only you see it)", 400, 409, 413, 415),
             openapi_extra=MESSAGE_BODY)
async def post_message(case_id: int, request: Request, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """A message on the case, with up to 6 photos (JPEG/PNG/WebP, 5 MB each, 30 a case;
    multipart fields `text` and `photos`). Checked for off-platform diversion like live chat:
    such a message is held, shown only to its sender (told why) and the operators."""
    text, photos = await _message_body(request)
    return await service.post_message(rt.db, rt.media, principal, case_id, text=text,
                                      photos=photos, now=rt.now())


async def _message_body(request: Request) -> tuple[str, list[bytes]]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=rules.PHOTOS_PER_MESSAGE + 1, max_fields=4)
        except (MultiPartException, ValueError) as exc:
            raise Problem("invalid_request", f"上传格式错误 / malformed upload: {exc}") from exc
        try:
            text = form.get("text")
            if text is not None and not isinstance(text, str):
                raise Problem("validation_failed", "text 须为文本 / text must be text")
            uploads = [u for u in form.getlist("photos") if isinstance(u, UploadFile)]
            if len(uploads) != len(form.getlist("photos")):
                raise Problem("validation_failed", "photos 须为文件 / photos must be files")
            if len(uploads) > rules.PHOTOS_PER_MESSAGE:
                raise Problem("validation_failed", f"每条最多 {rules.PHOTOS_PER_MESSAGE} 张照片 "
                                                   f"/ at most {rules.PHOTOS_PER_MESSAGE} photos"
                                                   " a message")
            return text or "", [await u.read() for u in uploads]
        finally:
            await form.close()
    if kind.startswith("application/json"):
        try:
            body = MessageIn.model_validate_json(await request.body())
        except ValueError as exc:
            raise Problem("validation_failed", f"消息格式错误 / invalid message: {exc}") from exc
        return body.text, []
    raise Problem("unsupported_media_type", "请以 JSON 或 multipart/form-data 发送 / send JSON "
                                            "or multipart/form-data")


# Tests and demos only (LIVEPLEDGE_TEST_CLOCK, refused in production): included by the app only
# when the setting is on.
test_clock_router = APIRouter(prefix="/api/v1/test", tags=["testing"])


@test_clock_router.post("/clock")
async def advance_clock(body: ClockAdvance, rt: RuntimeDep) -> dict[str, Any]:
    """Move this server process's clock forward (a browser test lets a deadline pass)."""
    from datetime import timedelta

    from livepledge.infra import clock

    clock.set_offset(clock.offset() + timedelta(seconds=body.advance_seconds))
    fired = await rt.deadlines.run_once(rt.now()) if rt.deadlines else 0
    return {"now": rt.now().isoformat(), "offset_seconds": int(clock.offset().total_seconds()),
            "deadlines_fired": fired}
