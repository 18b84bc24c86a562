// 我的粉丝团: the clubs I am in (level, affinity with the way to the next level, points,
// streak), check in, the affinity and points histories, the campaigns opt-out, and my fan data
// (export as JSON, delete).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const $ = (id) => document.getElementById(id);
  const en = window.LP_LANG === "en";
  const local = LP.local;

  function history(target, entries, kind) {
    target.replaceChildren();
    if (!entries.length) target.append(LP.el("li", { class: "muted" }, LP.t("history_empty")));
    for (const e of entries) {
      const value = kind === "affinity" ? e.points : e.delta;
      const what = kind === "affinity" ? e.label[en ? "en" : "zh-CN"] : LP.t(`points_${e.reason.split(":")[0]}`);
      target.append(LP.el("li", {},
        LP.el("span", {}, what, LP.el("span", { class: "muted small" }, " · " + LP.time(e.created_at))),
        LP.el("b", { class: value < 0 ? "minus" : "plus" }, (value > 0 ? "+" : "") + value)));
    }
  }

  const key = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9-]/g, "");

  // 粉丝福利: the club's coupons, free ones (领取) and those offered for points (积分兑换).
  async function coupons(target, club) {
    const body = await LP.api("GET", `/api/v1/shops/${club.shop_id}/fan-club/coupons`);
    target.replaceChildren();
    if (!body.coupons.length) target.append(LP.el("li", { class: "muted" }, LP.t("club_no_coupons")));
    for (const c of body.coupons) {
      const priced = c.points_price != null;
      const button = LP.el("button", { type: "button", class: "primary small", "data-testid": "club-coupon-take",
        onclick: async () => {
          try {
            await LP.api("POST", `/api/v1/coupons/${c.id}/${priced ? "redemptions" : "claims"}`, undefined,
              { "Idempotency-Key": key() });
            LP.toast(LP.t("club_coupon_done"));
            load();
          } catch (error) { LP.toast(local(error.message), true); }
        } }, priced ? LP.format("club_coupon_redeem", { points: c.points_price }) : LP.t("club_coupon_claim"));
      button.disabled = !c.eligible || c.state !== "open" || c.remaining <= 0
        || c.claimed_by_me >= c.per_buyer_limit || club.points < (c.points_price || 0);
      target.append(LP.el("li", { class: "club-coupon", "data-testid": "club-coupon" },
        LP.el("span", {}, LP.el("b", {}, c.title),
          c.claimed_by_me ? LP.el("span", { class: "muted small" }, " · " + LP.format("club_coupon_held", { n: c.claimed_by_me })) : "",
          !c.eligible ? LP.el("span", { class: "muted small" }, " · " + LP.format("club_coupon_locked", { level: c.min_fan_level || 1 })) : ""),
        button));
    }
  }

  // 粉丝群动态: the shop's posts, reactions and comments (a held comment: mine only).
  async function feed(target, club) {
    const body = await LP.api("GET", `/api/v1/shops/${club.shop_id}/fan-club/feed?limit=20`);
    target.replaceChildren();
    if (!body.posts.length) target.append(LP.el("li", { class: "muted" }, LP.t("feed_empty")));
    for (const post of body.posts) {
      const reactions = LP.el("div", { class: "feed-reactions" }, ...["like", "love", "want"].map((kind) => {
        const on = post.my_reactions.includes(kind);
        return LP.el("button", { type: "button", class: on ? "reaction on" : "reaction", "data-testid": `feed-react-${kind}`,
          onclick: async () => {
            await LP.api(on ? "DELETE" : "PUT", `/api/v1/fan-posts/${post.id}/reactions/${kind}`);
            feed(target, club);
          } }, `${LP.t("feed_react_" + kind)} ${post.reactions[kind] || ""}`);
      }));
      const comments = LP.el("ul", { class: "feed-comments" }, ...post.comments.map((c) => LP.el("li",
        { class: c.status === "held" ? "held" : "", "data-testid": "feed-comment" },
        LP.el("b", {}, c.from_shop ? LP.t("feed_from_shop") : c.display_name), "：", c.body,
        c.status === "held" ? LP.el("div", { class: "muted small" }, LP.t("feed_held")) : "")));
      const input = LP.el("input", { type: "text", maxlength: "300", placeholder: LP.t("feed_comment"), "data-testid": "feed-comment-input" });
      const form = LP.el("form", { class: "feed-form", onsubmit: async (event) => {
        event.preventDefault();
        if (!input.value.trim()) return;
        try {
          await LP.api("POST", `/api/v1/fan-posts/${post.id}/comments`, { body: input.value });
          feed(target, club);
        } catch (error) { LP.toast(local(error.message), true); }
      } }, input, LP.el("button", { type: "submit" }, LP.t("feed_send")));
      target.append(LP.el("li", { class: "feed-post", "data-testid": "feed-post" },
        LP.el("div", { class: "muted small" }, LP.t("feed_kind_" + post.kind) + " · " + LP.time(post.created_at)),
        LP.el("p", {}, post.body), reactions, comments, form));
    }
  }

  function card(club) {
    const next = club.next_level;
    const progress = next ? Math.min(100, Math.round(100 * club.affinity / next.threshold)) : 100;
    const list = LP.el("ul", { class: "club-history", hidden: "" });
    const toggle = (kind) => async () => {
      if (!list.hidden && list.dataset.kind === kind) { list.hidden = true; return; }
      const body = await LP.api("GET", `/api/v1/me/fan-clubs/${club.shop_id}/${kind}?limit=50`);
      history(list, body.entries, kind);
      list.dataset.kind = kind;
      list.hidden = false;
    };
    const couponList = LP.el("ul", { class: "club-coupons", hidden: "", "data-testid": "club-coupons" });
    const feedList = LP.el("ul", { class: "club-feed", hidden: "", "data-testid": "club-feed" });
    const panel = (target, fill) => async () => {
      if (!target.hidden) { target.hidden = true; return; }
      try { await fill(target, club); target.hidden = false; } catch (error) { LP.toast(local(error.message), true); }
    };
    const checkin = LP.el("button", { type: "button", class: "primary", "data-testid": "club-checkin",
      onclick: async () => {
        try {
          const result = await LP.api("POST", `/api/v1/shops/${club.shop_id}/fan-club/checkin`);
          LP.toast(LP.format("fan_checkin_done", result.checkin));
          load();
        } catch (error) { LP.toast(local(error.message), true); }
      } }, LP.t(club.checked_in_today ? "fan_checked_in" : "fan_checkin"));
    checkin.disabled = club.checked_in_today;
    const optOut = LP.el("input", { type: "checkbox", onchange: async (event) => {
      await LP.api("PUT", `/api/v1/me/fan-clubs/${club.shop_id}/campaigns`, { opt_out: !event.target.checked });
    } });
    optOut.checked = !club.campaigns_opt_out;
    return LP.el("li", { class: "club", "data-testid": "club" },
      LP.el("div", { class: "club-head" },
        LP.el("a", { href: `/shops/${club.shop_id}/lives` }, club.shop_name),
        LP.el("span", { class: "club-badge" }, LP.format("fan_level", { name: club.level_name, level: club.level })),
        LP.el("span", { class: "spacer" }), checkin),
      LP.el("div", { class: "club-facts" },
        LP.el("span", {}, LP.el("b", { "data-testid": "club-affinity" }, club.affinity), LP.t("affinity_word")),
        LP.el("span", {}, LP.el("b", { "data-testid": "club-points" }, club.points), LP.t("points_word")),
        LP.el("span", {}, LP.el("b", {}, club.streak), LP.t("streak_word"))),
      LP.el("div", { class: "club-progress" }, LP.el("span", { style: `width:${progress}%` })),
      LP.el("div", { class: "muted small" }, next
        ? LP.format("next_level", { name: next.name, left: next.threshold - club.affinity })
        : LP.t("top_level")),
      LP.el("div", { class: "club-actions" },
        LP.el("button", { type: "button", class: "link", "data-testid": "club-coupons-open", onclick: panel(couponList, coupons) }, LP.t("club_coupons")),
        LP.el("button", { type: "button", class: "link", "data-testid": "club-feed-open", onclick: panel(feedList, feed) }, LP.t("club_feed")),
        LP.el("button", { type: "button", class: "link", onclick: toggle("affinity") }, LP.t("affinity_history")),
        LP.el("button", { type: "button", class: "link", onclick: toggle("points") }, LP.t("points_history")),
        LP.el("label", { class: "small" }, optOut, " " + LP.t("campaigns_ok")),
        LP.el("button", { type: "button", class: "link", onclick: async () => {
          if (!await LP.confirm(LP.t("fan_leave_confirm"))) return;
          await LP.api("DELETE", `/api/v1/shops/${club.shop_id}/fan-club/membership`);
          load();
        } }, LP.t("fan_leave"))),
      list, couponList, feedList);
  }

  async function load() {
    const clubs = await LP.api("GET", "/api/v1/me/fan-clubs");
    const list = $("club-list");
    list.replaceChildren(...clubs.map(card));
    if (!clubs.length) list.append(LP.el("li", { class: "club muted" }, LP.t("no_fan_clubs")));
  }

  $("fan-export").addEventListener("click", async () => {
    const data = await LP.api("GET", "/api/v1/me/fan-data");
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    LP.el("a", { href: url, download: "fan-data.json" }).click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  $("fan-delete").addEventListener("click", async () => {
    if (!await LP.confirm(LP.t("fan_delete_confirm"))) return;
    await LP.api("DELETE", "/api/v1/me/fan-data");
    LP.toast(LP.t("fan_deleted"));
    load();
  });
  load().catch((error) => LP.toast(local(error.message), true));
});
