// The notice inbox (站内通知): refunds, compensation, cancellations, shipping, in the page's
// language; newest first; mark all read.
"use strict";

function campaignLinks(n) {
  // a shop's campaign: see it (counted as opened), or unsubscribe from that shop's campaigns
  const unsubscribe = LP.el("button", { type: "button", class: "link", "data-testid": "unsubscribe" }, LP.t("unsubscribe"));
  unsubscribe.addEventListener("click", async () => {
    try {
      await LP.api("PUT", `/api/v1/me/fan-clubs/${n.params.shop_id}/campaigns`, { opt_out: true });
      unsubscribe.replaceWith(LP.el("span", {}, LP.t("unsubscribed")));
    } catch (error) { LP.toast(error.message, true); }
  });
  return [" · ", LP.el("a", { href: `/c/${n.params.campaign_id}` }, LP.t("campaign_open")), " · ", unsubscribe];
}

async function noticesPage() {
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang === "en" ? "en" : "zh-CN";
  const render = (inbox) => {
    $("unread-count").textContent = `${LP.t("unread")} ${inbox.unread}`;
    $("mark-all").hidden = inbox.unread === 0;
    const list = $("notice-list");
    list.replaceChildren();
    if (!inbox.notices.length) list.append(LP.el("li", { class: "muted" }, LP.t("notices_empty")));
    for (const n of inbox.notices) {
      list.append(LP.el("li", { class: n.read ? "" : "unread", "data-kind": n.kind },
        LP.el("b", {}, n.title[lang]),
        LP.el("div", {}, n.body[lang]),
        LP.el("div", { class: "muted small" },
          LP.el("time", { datetime: n.created_at }, LP.time(n.created_at)),
          ...(n.order_id ? [" · ", LP.el("a", { href: `/orders/${n.order_id}` }, LP.t("order_detail"))] : []),
          ...(n.kind === "campaign" ? campaignLinks(n) : []))));
    }
  };
  const refresh = async () => render(await LP.api("GET", "/api/v1/me/notices"));
  await refresh();
  // New notices arrive without reloading (a refund is pushed by the platform, not asked for).
  setInterval(() => { if (!document.hidden) refresh().catch(() => {}); }, 5000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh().catch(() => {}); });
  $("mark-all").addEventListener("click", async () => {
    await LP.api("POST", "/api/v1/me/notices/read", {});
    render(await LP.api("GET", "/api/v1/me/notices"));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  noticesPage().catch((error) => LP.toast(error.message, true));
});
