// A shop's upcoming lives with 预约 (remind me), and this buyer's go-live reminders.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("lives");
  const shopId = Number(root.dataset.shopId);
  const loggedIn = root.dataset.loggedIn === "true";
  const $ = (id) => document.getElementById(id);
  const bagIcon = LP.bagIcon;
  const local = LP.local;

  function thumbs(session) {
    return LP.el("div", { class: "life-thumbs" }, ...session.items.slice(0, 6).map((item) =>
      LP.el("figure", {},
        item.thumb_url ? LP.el("img", { src: item.thumb_url, alt: item.title, loading: "lazy" })
          : LP.el("span", { class: "thumb-none", title: item.title }, bagIcon()),
        LP.el("figcaption", {}, "¥" + LP.yuan(item.live_price)))));
  }

  function reserveButton(session) {
    if (!loggedIn) {
      return LP.el("a", { class: "button primary", href: `/login?next=/shops/${shopId}/lives` },
        LP.t("login_to_reserve"));
    }
    const button = LP.el("button", {
      type: "button", class: session.reserved ? "reserved" : "primary",
      "data-testid": "reserve", "aria-pressed": String(session.reserved),
      onclick: async () => {
        button.disabled = true;
        try {
          const result = await LP.api(session.reserved ? "DELETE" : "PUT",
            `/api/v1/sessions/${session.id}/reservation`);
          if (result.reserved) LP.toast(LP.t("reserve_done"));
          await load();
        } catch (error) {
          LP.toast(local(error.message), true);
          button.disabled = false;
        }
      },
    }, session.reserved ? LP.t("reserved") : LP.t("reserve"));
    if (session.reserved) button.title = LP.t("cancel_reserve");
    return button;
  }

  function card(session, kind) {
    const when = kind === "upcoming" ? LP.format("starts_at", { t: LP.time(session.scheduled_at) })
      : kind === "live" ? LP.format("live_since", { t: LP.time(session.started_at) })
      : LP.format("ended_at", { t: LP.time(session.ended_at) });
    const action = kind === "upcoming" ? reserveButton(session)
      : LP.el("a", { class: kind === "live" ? "button primary" : "button", href: `/live/${session.id}` },
        kind === "live" ? LP.t("watch_now") : session.has_replay ? LP.t("watch_replay") : LP.t("view_room"));
    return LP.el("li", { class: `life life-${kind}`, "data-testid": "life", dataset: { sessionId: session.id } },
      LP.el("div", { class: "life-head" },
        LP.el("a", { class: "life-title", href: `/live/${session.id}` }, session.title),
        kind === "live" ? LP.el("span", { class: "badge badge-live" }, LP.t("room_status_live")) : null),
      LP.el("div", { class: "life-when" }, when),
      LP.el("div", { class: "muted" }, [
        LP.format("host_is", { name: session.anchor.display_name }),
        LP.format("items_count", { n: session.items.length }),
        kind === "upcoming" ? LP.format("reserve_count", { n: session.reservations }) : null,
      ].filter(Boolean).join(" · ")),
      session.items.length ? thumbs(session) : null,
      LP.el("div", { class: "life-foot" }, LP.el("span"), action));
  }

  async function load() {
    const lives = await LP.api("GET", `/api/v1/shops/${shopId}/lives`);
    $("live-section").hidden = !lives.live.length;
    $("live-list").replaceChildren(...lives.live.map((s) => card(s, "live")));
    $("upcoming-list").replaceChildren(...lives.upcoming.map((s) => card(s, "upcoming")));
    $("no-upcoming").hidden = Boolean(lives.upcoming.length);
    $("ended-section").hidden = !lives.ended.length;
    $("ended-list").replaceChildren(...lives.ended.map((s) => card(s, "ended")));
  }

  // Go-live reminders of reserved sessions, from the notice inbox (站内通知).
  let shown = [];
  async function loadNotices() {
    if (!loggedIn) return;
    let data;
    try { data = await LP.api("GET", "/api/v1/me/notices?limit=50"); } catch (error) { return; }
    const lang = window.LP_LANG === "en" ? "en" : "zh-CN";
    shown = data.notices.filter((n) => n.kind === "session_live").slice(0, 10);
    $("notices").hidden = !shown.length;
    $("notices-seen").hidden = !shown.some((n) => !n.read);
    $("notice-list").replaceChildren(...shown.map((n) =>
      LP.el("li", { class: n.read ? "seen" : "unread", "data-testid": "notice" },
        LP.el("span", {}, `${n.title[lang]} · ${n.params.shop_name}`),
        LP.el("a", { class: "button primary", href: `/live/${n.params.session_id}` },
          LP.t("watch_now")))));
  }

  $("notices-seen").addEventListener("click", async () => {
    await LP.api("POST", "/api/v1/me/notices/read", { ids: shown.map((n) => n.id) });
    await loadNotices();
  });

  // No push channel: look again every half minute, and whenever the page is shown again.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { load(); loadNotices(); }
  });
  setInterval(() => { if (!document.hidden) { load(); loadNotices(); } }, 30000);
  load();
  loadNotices();
});
