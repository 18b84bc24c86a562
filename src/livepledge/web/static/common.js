// Shared helpers for every page: JSON API calls with CSRF, i18n, money, toasts.
"use strict";

const LP_PAGE = JSON.parse(document.getElementById("lp-page").textContent);
window.LP_I18N = LP_PAGE.i18n;
window.LP_LANG = LP_PAGE.lang;

const LP = {
  t(key) { return (window.LP_I18N && window.LP_I18N[key]) || key; },
  sameOriginPath(target) {
    // Where to go after logging in: only a path on this site (the server checks it too).
    if (!target || !target.startsWith("/") || target.includes("\\")) return "/";
    let url;
    try { url = new URL(target, location.origin); } catch (error) { return "/"; }
    return url.origin === location.origin ? url.pathname + url.search + url.hash : "/";
  },
  csrf() { const m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; },
  yuan(fen) { return (fen / 100).toFixed(2); },
  toFen(text) { return Math.round(parseFloat(text) * 100); },
  async api(method, path, body, headers) {
    const init = { method, headers: Object.assign({ "X-CSRF-Token": LP.csrf() }, headers || {}),
                   credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error((data && data.detail) || response.statusText);
      error.problem = data;
      error.status = response.status;
      throw error;
    }
    return data;
  },
  toast(message, isError) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.className = isError ? "show error" : "show";
    clearTimeout(LP._toastTimer);
    LP._toastTimer = setTimeout(() => { box.className = ""; }, 3500);
  },
  toastClear() {
    const box = document.getElementById("toast");
    if (box) box.className = "";
  },
  el(tag, attrs, ...children) {
    // Builds DOM nodes; text is always set as text (never parsed as HTML).
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },
  findingsList(findings) {
    // Each finding: which words, which rule, the law, and a compliant rewording.
    const list = LP.el("ul", { class: "findings" });
    for (const f of findings) {
      list.append(LP.el("li", { class: f.severity },
        LP.el("b", {}, `${LP.t(f.severity)} ${f.rule_id}`), ` 「${f.text}」 ${f.title}`,
        LP.el("div", { class: "muted" }, f.legal_basis),
        LP.el("div", {}, "→ " + f.suggestion)));
    }
    return list;
  },
  statusText(status) { return LP.t("status_" + status); },
  time(iso) {
    // Times are stored in UTC and shown in the shop's time zone (Asia/Shanghai).
    if (!iso) return "";
    return new Intl.DateTimeFormat(window.LP_LANG === "en" ? "en-GB" : "zh-CN", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).format(new Date(iso));
  },
  format(key, values) {
    return LP.t(key).replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  },
  confirm(message) {
    // A dialog instead of window.confirm: styled, translatable, and testable.
    return new Promise((resolve) => {
      const dialog = LP.el("dialog", { class: "confirm", "data-testid": "confirm" },
        LP.el("p", {}, message),
        LP.el("div", { class: "actions" },
          LP.el("button", { type: "button", class: "link", onclick: () => done(false) }, LP.t("no")),
          LP.el("button", { type: "button", class: "primary", onclick: () => done(true) }, LP.t("yes"))));
      const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
      dialog.addEventListener("cancel", () => done(false));
      document.body.append(dialog);
      dialog.showModal();
    });
  },
  local(text) {
    // Server messages carry both languages, "中文 / English": the page's half.
    const match = /^(.*?)\s?\/\s(?=[A-Za-z])(.*)$/s.exec(text || "");
    if (!match) return text || "";
    return window.LP_LANG === "en" ? match[2] : match[1].trim();
  },
  bagIcon() {
    // A shopping bag, drawn (no emoji font needed).
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "1.6");
    svg.setAttribute("aria-hidden", "true");
    for (const d of ["M6 7h12l-1 13H7L6 7z", "M9 7V5a3 3 0 0 1 6 0v2"]) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  },
  addressLine(a) { return a ? `${a.province} ${a.city} ${a.district} ${a.detail}` : ""; },
  wsUrl(path) { return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path; },
};

document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout");
  if (logout) logout.addEventListener("click", async () => {
    await LP.api("POST", "/web/logout");
    location.href = "/";
  });
});
