// The live room's 领券 button and sheet: the session's open red packets (抢红包, GET
// /api/v1/sessions/{id}/red-packets; a tap grabs a share, once per fan) and the coupons it
// offers (GET /api/v1/sessions/{id}/coupons), what is left of each and how many this viewer
// holds; a tap claims one (POST /api/v1/coupons/{id}/claims, with an Idempotency-Key kept until
// answered, so a retry after a network error never claims twice).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const room = document.getElementById("room");
  if (!room) return;
  const sessionId = Number(room.dataset.sessionId);
  const loggedIn = room.dataset.loggedIn === "true";
  const $ = (id) => document.getElementById(id);
  const keys = {};  // coupon id -> the key of a claim not yet answered
  let coupons = [];
  let packets = [];

  const local = LP.local;

  function terms(c) {
    if (c.kind === "percent") return LP.format("coupon_percent", { percent: c.percent_off });
    if (c.kind === "no_threshold") return LP.format("coupon_no_threshold", { off: LP.yuan(c.amount_off) });
    return LP.format("coupon_threshold", { threshold: LP.yuan(c.threshold), off: LP.yuan(c.amount_off) });
  }

  function row(c) {
    const gone = c.remaining <= 0;
    const full = c.claimed_by_me >= c.per_buyer_limit;
    const open = c.state === "open" && !gone && !full;
    const label = gone ? LP.t("coupon_gone") : c.state === "upcoming" ? LP.t("coupon_upcoming")
      : full ? LP.format("coupon_held", { n: c.claimed_by_me }) : LP.t("claim_coupon");
    const button = LP.el("button", { type: "button", class: open ? "primary" : "", "data-testid": "coupon-claim",
                                     onclick: () => claim(c) }, label);
    button.disabled = !open;
    const facts = [LP.format("coupons_left", { n: c.remaining })];
    if (c.claimed_by_me && !full) facts.push(LP.format("coupon_held", { n: c.claimed_by_me }));
    return LP.el("li", { class: "coupon-item", "data-testid": "coupon-item" },
      LP.el("div", { class: "coupon-terms" }, LP.el("b", {}, terms(c)), LP.el("div", {}, c.title)),
      LP.el("div", { class: "muted small" }, facts.join(" · ")),
      button);
  }

  function packetRow(p) {
    const open = p.status === "open" && p.remaining_shares > 0 && p.my_amount == null;
    const coupon = p.kind === "coupon";
    const label = p.my_amount != null
      ? (coupon ? LP.t("grabbed_coupon") : LP.format("grabbed_amount", { amount: LP.yuan(p.my_amount) }))
      : open ? LP.t("grab") : LP.t("red_packet_closed");
    const button = LP.el("button", { type: "button", class: open ? "primary" : "", "data-testid": "red-packet-grab",
                                     onclick: () => grabPacket(p) }, label);
    button.disabled = !open;
    return LP.el("li", { class: "coupon-item red-packet", "data-testid": "red-packet" },
      LP.el("div", { class: "coupon-terms" }, LP.el("b", {}, LP.t("red_packet")), " ",
            coupon ? LP.format("coupon_packet_terms", { shares: p.shares })
              : LP.format("red_packet_terms", { amount: LP.yuan(p.total_amount), shares: p.shares })),
      LP.el("div", { class: "muted small" }, LP.format("red_packet_left", { n: p.remaining_shares })),
      button);
  }

  function render() {
    const claimable = coupons.filter((c) => c.state === "open" && c.remaining > 0);
    const grabbable = packets.filter((p) => p.status === "open" && p.my_amount == null);
    $("coupons-open").hidden = coupons.length === 0 && packets.length === 0;
    const count = claimable.length + grabbable.length;
    $("coupons-count").textContent = count ? String(count) : "";
    $("red-packet-list").replaceChildren(...packets.map(packetRow));
    const list = $("coupon-list");
    list.replaceChildren(...(coupons.length || packets.length ? coupons.map(row)
      : [LP.el("li", { class: "muted" }, LP.t("no_room_coupons"))]));
  }

  async function load() {
    try {
      coupons = (await LP.api("GET", `/api/v1/sessions/${sessionId}/coupons`)).coupons;
      packets = (await LP.api("GET", `/api/v1/sessions/${sessionId}/red-packets`))
        .filter((p) => p.status === "open" || p.my_amount != null);
      render();
    } catch (error) { /* the room works without coupons */ }
  }

  async function claim(c) {
    if (!loggedIn) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
    keys[c.id] = keys[c.id] || `coupon-${c.id}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    try {
      await LP.api("POST", `/api/v1/coupons/${c.id}/claims`, undefined, { "Idempotency-Key": keys[c.id] });
      delete keys[c.id];
      LP.toast(LP.t("coupon_claimed"));
    } catch (error) {
      if (error.status) delete keys[c.id];  // answered: a new press is a new claim
      LP.toast(local(error.message), true);
    }
    await load();
  }

  async function grabPacket(p) {
    if (!loggedIn) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
    try {
      const mine = await LP.api("POST", `/api/v1/red-packets/${p.id}/grabs`);
      LP.toast(mine.claim_id ? LP.t("grabbed_coupon")
        : LP.format("grabbed_amount", { amount: LP.yuan(mine.amount) }));
    } catch (error) { LP.toast(local(error.message), true); }
    await load();
  }

  $("coupons-open").addEventListener("click", async () => {
    await load();
    $("coupon-sheet").showModal();
  });
  load();
});
