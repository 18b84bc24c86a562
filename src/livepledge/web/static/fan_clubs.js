// 我的粉丝团: the clubs I am in (level, affinity with the way to the next level, points,
// streak), check in, the affinity and points histories, the campaigns opt-out, and my fan data
// (export as JSON, delete).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const $ = (id) => document.getElementById(id);
  const en = window.LP_LANG === "en";
  const local = (text) => {
    const match = /^(.*?)\s?\/\s(?=[A-Za-z])(.*)$/s.exec(text || "");
    if (!match) return text || "";
    return en ? match[2] : match[1].trim();
  };

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
        LP.el("button", { type: "button", class: "link", onclick: toggle("affinity") }, LP.t("affinity_history")),
        LP.el("button", { type: "button", class: "link", onclick: toggle("points") }, LP.t("points_history")),
        LP.el("label", { class: "small" }, optOut, " " + LP.t("campaigns_ok")),
        LP.el("button", { type: "button", class: "link", onclick: async () => {
          if (!await LP.confirm(LP.t("fan_leave_confirm"))) return;
          await LP.api("DELETE", `/api/v1/shops/${club.shop_id}/fan-club/membership`);
          load();
        } }, LP.t("fan_leave"))),
      list);
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
