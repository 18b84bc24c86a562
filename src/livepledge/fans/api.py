"""Fan club routes (粉丝团): joining, check-ins, a fan's affinity and points, the merchant's
fan list and levels, and the fan's personal data. Each handler calls one service function."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from livepledge.deps import OptionalPrincipalDep, PrincipalDep, RuntimeDep
from livepledge.fans import campaigns, feed, segments, service
from livepledge.fans.schemas import (
    CampaignIn,
    CampaignsOptOut,
    CommentIn,
    LevelsUpdate,
    PostIn,
    SegmentFilterIn,
    SegmentIn,
    TagsUpdate,
)
from livepledge.openapi import errors

API = "/api/v1"
router = APIRouter(tags=["fan club"])
pages = APIRouter(include_in_schema=False)
Limit = Query(default=50, ge=1, le=200)
Offset = Query(default=0, ge=0, le=1_000_000)


@router.get(API + "/shops/{shop_id}/fan-club")
async def fan_club(shop_id: int, principal: OptionalPrincipalDep,
                   rt: RuntimeDep) -> dict[str, Any]:
    """A shop's fan club: its levels, how many fans, and (logged in) your membership."""
    return await service.club(rt.db, principal, shop_id, rt.now())


@router.put(API + "/shops/{shop_id}/fan-club/membership")
async def join(shop_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """加入粉丝团 (idempotent)."""
    return await service.join(rt.db, principal, shop_id, rt.now(), rt.badges)


@router.delete(API + "/shops/{shop_id}/fan-club/membership")
async def leave(shop_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """退出粉丝团: affinity, level, streak and tags are deleted (docs/fans.md); idempotent."""
    return await service.leave(rt.db, principal, shop_id, rt.now(), rt.badges)


@router.post(API + "/shops/{shop_id}/fan-club/checkin", responses=errors(409))
async def checkin(shop_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """打卡: once per Asia/Shanghai day (409 `already_checked_in`); fans only (409 `not_a_fan`)."""
    return await service.checkin(rt.db, principal, shop_id, rt.now())


@router.get(API + "/me/fan-clubs")
async def my_clubs(principal: PrincipalDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    """The fan clubs you are in, with level, affinity, points and streak."""
    return await service.my_clubs(rt.db, principal, rt.now())


@router.get(API + "/me/fan-clubs/{shop_id}/affinity", responses=errors(409))
async def my_affinity(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                      limit: int = Limit, offset: int = Offset) -> dict[str, Any]:
    """Your affinity in a shop's club and its history, newest first."""
    return await service.affinity_history(rt.db, principal, shop_id, limit=limit,
                                          offset=offset)


@router.get(API + "/me/fan-clubs/{shop_id}/points")
async def my_points(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                    limit: int = Limit, offset: int = Offset) -> dict[str, Any]:
    """Your points (积分) balance in a shop and its history, newest first."""
    return await service.points_history(rt.db, principal, shop_id, limit=limit,
                                        offset=offset)


@router.put(API + "/me/fan-clubs/{shop_id}/campaigns", responses=errors(409))
async def campaigns_opt_out(shop_id: int, body: CampaignsOptOut, principal: PrincipalDep,
                            rt: RuntimeDep) -> dict[str, Any]:
    """Opt out of (or back into) this shop's campaigns."""
    return await service.set_campaigns_opt_out(rt.db, principal, shop_id, body.opt_out)


@router.get(API + "/me/fan-data")
async def export_fan_data(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Everything the fan clubs hold about you, as JSON (《个人信息保护法》 art. 45)."""
    return await service.export_fan_data(rt.db, principal, rt.now())


@router.delete(API + "/me/fan-data")
async def delete_fan_data(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Delete your fan data in every shop; orders and records the law requires are kept."""
    return await service.delete_fan_data(rt.db, principal, rt.now(), rt.badges)


@router.get(API + "/shops/{shop_id}/fans")
async def fans(shop_id: int, principal: PrincipalDep, rt: RuntimeDep, limit: int = Limit,
               offset: int = Offset,
               sort: str = Query(default="affinity", pattern="^(affinity|joined|streak)$"),
               ) -> dict[str, Any]:
    """The shop's fans with level, affinity, check-in streak and joined date (shop staff)."""
    return await service.fan_list(rt.db, principal, shop_id, limit=limit, offset=offset,
                                  sort=sort)


@router.put(API + "/shops/{shop_id}/fan-club/levels")
async def set_levels(shop_id: int, body: LevelsUpdate, principal: PrincipalDep,
                     rt: RuntimeDep) -> list[dict[str, Any]]:
    """Set the level names and affinity thresholds (shop staff)."""
    return await service.set_levels(rt.db, principal, shop_id,
                                    [level.model_dump() for level in body.levels], rt.now(),
                                    rt.badges)


@router.put(API + "/shops/{shop_id}/fans/{user_id}/tags", responses=errors(409))
async def set_tags(shop_id: int, user_id: int, body: TagsUpdate, principal: PrincipalDep,
                   rt: RuntimeDep) -> dict[str, Any]:
    """The merchant's tags for a fan (used by segments)."""
    return await service.set_tags(rt.db, principal, shop_id, user_id, body.tags, rt.now())


# --- segments (人群) -------------------------------------------------------------------------

@router.post(API + "/shops/{shop_id}/segment-preview")
async def preview_segment(shop_id: int, body: SegmentFilterIn, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """How many of the shop's buyers a filter selects, before saving it."""
    return await segments.preview(rt.db, principal, shop_id, body.model_dump(), rt.now())


@router.get(API + "/shops/{shop_id}/segments")
async def list_segments(shop_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Saved segments with their live counts."""
    return await segments.list_segments(rt.db, principal, shop_id, rt.now())


@router.post(API + "/shops/{shop_id}/segments", status_code=201)
async def create_segment(shop_id: int, body: SegmentIn, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    """Save a segment (at most 50 a shop)."""
    return await segments.create_segment(rt.db, principal, shop_id, body.name,
                                         body.filter.model_dump(), rt.now())


@router.delete(API + "/shops/{shop_id}/segments/{segment_id}", status_code=204)
async def delete_segment(shop_id: int, segment_id: int, principal: PrincipalDep,
                         rt: RuntimeDep) -> Response:
    await segments.delete_segment(rt.db, principal, shop_id, segment_id, rt.now())
    return Response(status_code=204)


@router.get(API + "/shops/{shop_id}/segments/{segment_id}/export.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def export_segment(shop_id: int, segment_id: int, principal: PrincipalDep,
                         rt: RuntimeDep) -> Response:
    """The segment's buyer ids as CSV (ids only)."""
    body = await segments.export_csv(rt.db, principal, shop_id, segment_id, rt.now())
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'})


# --- campaigns ------------------------------------------------------------------------------

@router.post(API + "/shops/{shop_id}/campaigns", status_code=201)
async def create_campaign(shop_id: int, body: CampaignIn, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """A message (and optionally a coupon) to a saved segment's fan-club members, now, at a
    time, or when a session goes live; checked like chat (nothing off the platform)."""
    return await campaigns.create(
        rt.db, principal, shop_id, segment_id=body.segment_id, title=body.title,
        body=body.body, coupon_id=body.coupon_id, send_at=body.send_at,
        on_session_id=body.on_session_id, now=rt.now())


@router.get(API + "/shops/{shop_id}/campaigns")
async def list_campaigns(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                         limit: int = Limit, offset: int = Offset) -> list[dict[str, Any]]:
    """The shop's campaigns, newest first, each with its results."""
    return await campaigns.list_for_shop(rt.db, principal, shop_id, limit=limit,
                                         offset=offset)


@router.get(API + "/campaigns/{campaign_id}")
async def get_campaign(campaign_id: int, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """A campaign and its results: delivered, opened, coupon claimed, orders and net sales
    attributed within 7 days."""
    return await campaigns.get(rt.db, principal, campaign_id, now=rt.now())


@router.post(API + "/campaigns/{campaign_id}/cancel", responses=errors(409))
async def cancel_campaign(campaign_id: int, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """Cancel a campaign not sent yet."""
    return await campaigns.cancel(rt.db, principal, campaign_id, now=rt.now())


@pages.get("/c/{campaign_id}")
async def open_campaign(campaign_id: int, request: Request, principal: OptionalPrincipalDep,
                        rt: RuntimeDep) -> Response:
    """A campaign message's link: counted as opened, then on to the fan club."""
    from fastapi.responses import RedirectResponse

    from livepledge.web.pages import _login_first

    if principal is None:
        return _login_first(request)
    shop_id = await campaigns.opened(rt.db, principal, campaign_id, rt.now())
    return RedirectResponse(campaigns.open_redirect(shop_id), status_code=303)


# --- the fan-group feed (粉丝群动态) ------------------------------------------------------------

@router.get(API + "/shops/{shop_id}/fan-club/feed", responses=errors(409))
async def fan_feed(shop_id: int, principal: OptionalPrincipalDep, rt: RuntimeDep,
                   before: int | None = Query(default=None, ge=1, le=2**63 - 1),
                   limit: int = Query(default=20, ge=1, le=50)) -> dict[str, Any]:
    """The fan group's posts, newest first, with reactions and comments (members and the shop's
    staff; a held comment is shown to its author only). Page on with `before=next_before`."""
    return await feed.feed(rt.db, principal, shop_id, before=before, limit=limit)


@router.post(API + "/shops/{shop_id}/fan-club/posts", status_code=201, responses=errors(409))
async def post_to_fans(shop_id: int, body: PostIn, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """Post to the fan group (shop staff). Checked like a live script: a violation is refused
    (409 `compliance_blocked` with the findings); warnings come back in `warnings`."""
    return await feed.create_post(rt.db, principal, shop_id, kind=body.kind, body=body.body,
                                  coupon_id=body.coupon_id, session_id=body.session_id,
                                  now=rt.now())


@router.delete(API + "/fan-posts/{post_id}", status_code=204)
async def delete_fan_post(post_id: int, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    """Take a post down (shop staff)."""
    await feed.delete_post(rt.db, principal, post_id, rt.now())
    return Response(status_code=204)


@router.put(API + "/fan-posts/{post_id}/reactions/{kind}", responses=errors(409))
async def add_reaction(post_id: int, kind: str, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """React to a post (`like`, `love`, `want`); members only; idempotent."""
    return await feed.react(rt.db, principal, post_id, kind, on=True, now=rt.now())


@router.delete(API + "/fan-posts/{post_id}/reactions/{kind}", responses=errors(409))
async def remove_reaction(post_id: int, kind: str, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """Take a reaction back; idempotent."""
    return await feed.react(rt.db, principal, post_id, kind, on=False, now=rt.now())


@router.post(API + "/fan-posts/{post_id}/comments", status_code=201, responses=errors(409, 429))
async def comment_on_post(post_id: int, body: CommentIn, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """Comment (members; the shop's staff reply). A comment leading off the platform is held:
    `status: held`, with the findings, visible to its author only. A fan comments at most once
    per `LIVEPLEDGE_COMMENT_MIN_INTERVAL_SECONDS` in a shop's feed (`429 rate_limited`)."""
    return await feed.comment(rt.db, principal, post_id, body.body, now=rt.now(),
                              limiter=rt.limiter,
                              min_interval=rt.settings.comment_min_interval_seconds)


@router.delete(API + "/fan-post-comments/{comment_id}", status_code=204)
async def delete_fan_comment(comment_id: int, principal: PrincipalDep,
                             rt: RuntimeDep) -> Response:
    """Delete a comment (its author, or the shop's staff moderating)."""
    await feed.delete_comment(rt.db, principal, comment_id)
    return Response(status_code=204)


# --- the buyer's page ----------------------------------------------------------------------

@pages.get("/fan-clubs", response_class=HTMLResponse)
async def fan_clubs_page(request: Request, principal: OptionalPrincipalDep) -> Response:
    """我的粉丝团: my clubs, level, affinity and points with their histories, check-in, the
    campaigns opt-out, and exporting or deleting my fan data."""
    from livepledge.web.pages import _login_first, _render

    if principal is None:
        return _login_first(request)
    return _render(request, "fan_clubs.html", principal)
