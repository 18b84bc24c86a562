// After-sales for the buyer: the 售后 panel on the order page (open a case, with photos) and the
// case page (/cases/{id}): status, whose turn and its deadline, the buyer's answers, messages
// and the case record — the same record the shop and the platform see (docs/aftersales.md).
"use strict";

const CasePages = {
  PHOTO_TYPES: ["image/jpeg", "image/png", "image/webp"],
  PHOTO_MAX_BYTES: 5 * 1024 * 1024,
  PHOTOS_PER_MESSAGE: 6,
  OPEN: ["awaiting_merchant", "awaiting_buyer", "awaiting_return", "return_shipped", "refused", "escalated"],

  // What a buyer may ask for on an order in this state (aftersales/rules.py decides; the server
  // refuses anything else, this only keeps the choices honest).
  choices(order) {
    const kinds = new Set((order.promises || []).map((p) => p.kind));
    const out = [];
    if (order.status === "paid") out.push(["refund_only", "not_shipped"]);
    if (order.status === "shipped") out.push(["refund_only", "not_received"]);
    if (order.status === "shipped" || order.status === "received") {
      out.push(["return_refund", "no_reason"], ["return_refund", "quality"]);
    }
    if (["paid", "shipped", "received"].includes(order.status)) {
      if ((order.promises || []).some((p) => p.promise_id)) out.push(["promise_breach", "promise"]);
      if (kinds.has("counterfeit_compensation") && order.status !== "paid") out.push(["counterfeit", "counterfeit"]);
    }
    return out;
  },

  photoError(files) {
    if (files.length > CasePages.PHOTOS_PER_MESSAGE) return LP.t("case_photos");
    for (const file of files) {
      if (!CasePages.PHOTO_TYPES.includes(file.type) || file.size > CasePages.PHOTO_MAX_BYTES || !file.size) {
        return `${LP.t("case_photos")}: ${file.name}`;
      }
    }
    return null;
  },

  async postPhotos(caseId, text, files) {
    // multipart: the API's `text` and `photos` fields (LP.api sends JSON only)
    const form = new FormData();
    if (text) form.append("text", text);
    for (const file of files) form.append("photos", file, file.name);
    const response = await fetch(`/api/v1/cases/${caseId}/messages`, {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": LP.csrf() } });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error((data && data.detail) || response.statusText);
    return data;
  },

  statusBadge(node, status) {
    node.textContent = LP.t("case_status_" + status);
    node.dataset.status = status;
  },

  // The order page's 售后 panel: the order's cases, and the form to open one.
  orderPanel(order, box, isBuyer) {
    box.replaceChildren();
    const list = LP.el("ul", { class: "case-list", "data-testid": "order-cases" });
    for (const c of order.cases || []) {
      list.append(LP.el("li", {},
        LP.el("a", { href: `/cases/${c.id}`, "data-testid": "case-link" },
          LP.el("span", {}, `${LP.t("case_type_" + c.type)} · ${LP.t("case_no")} ${c.id}`),
          LP.el("span", { class: "badge", "data-status": c.status }, LP.t("case_status_" + c.status)))));
    }
    if (!(order.cases || []).length) list.append(LP.el("li", { class: "muted" }, LP.t("case_none")));
    box.append(list);
    const busy = (order.cases || []).some((c) => CasePages.OPEN.includes(c.status));
    const choices = CasePages.choices(order);
    const refundable = order.amount - (order.refunded_total || 0);
    if (!isBuyer || busy || !choices.length || refundable <= 0) return;
    const start = LP.el("button", { type: "button", class: "primary", "data-testid": "case-apply" }, LP.t("apply_aftersales"));
    start.addEventListener("click", () => { start.hidden = true; box.append(CasePages.openForm(order, choices)); });
    box.append(start);
  },

  openForm(order, choices) {
    const refundable = order.amount - (order.refunded_total || 0);
    const field = (label, input, help) => LP.el("label", { class: "case-field" }, LP.el("span", {}, label), input,
      help ? LP.el("span", { class: "muted small" }, help) : null);
    const type = LP.el("select", { "data-testid": "case-type" },
      ...choices.map(([t, r]) => LP.el("option", { value: `${t}/${r}` }, `${LP.t("case_type_" + t)} · ${LP.t("case_reason_" + r)}`)));
    const promise = LP.el("select", { "data-testid": "case-promise" },
      ...(order.promises || []).filter((p) => p.promise_id).map((p) => LP.el("option", { value: String(p.promise_id) },
        p.label[document.documentElement.lang === "en" ? "en" : "zh-CN"])));
    const promiseField = field(LP.t("case_promise"), promise);
    const quantity = LP.el("input", { type: "number", min: "1", max: String(order.quantity), value: String(order.quantity), "data-testid": "case-quantity" });
    const amount = LP.el("input", { type: "number", min: "0.01", step: "0.01", max: LP.yuan(refundable), value: LP.yuan(refundable), inputmode: "decimal", "data-testid": "case-amount" });
    const text = LP.el("textarea", { rows: "3", maxlength: "1000", placeholder: LP.t("case_text_placeholder"), "data-testid": "case-text" });
    const photos = LP.el("input", { type: "file", accept: CasePages.PHOTO_TYPES.join(","), multiple: "", "data-testid": "case-photos" });
    const error = LP.el("p", { class: "field-error", role: "alert" });
    const submit = LP.el("button", { type: "submit", class: "primary", "data-testid": "case-submit" }, LP.t("case_submit"));
    const form = LP.el("form", { class: "case-form", "data-testid": "case-form" },
      LP.el("h3", {}, LP.t("case_open_title")),
      field(LP.t("case_choose_type"), type), promiseField,
      order.quantity > 1 ? field(LP.t("case_quantity"), quantity) : null,
      field(LP.t("case_amount"), amount, LP.format("case_amount_help", { max: LP.yuan(refundable) })),
      field(LP.t("case_text"), text), field(LP.t("case_photos"), photos), error, submit);
    const sync = () => { promiseField.hidden = !type.value.startsWith("promise_breach/"); };
    type.addEventListener("change", sync);
    sync();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const files = Array.from(photos.files || []);
      const bad = CasePages.photoError(files);
      if (bad) { error.textContent = bad; return; }
      const fen = LP.toFen(amount.value);
      if (!(fen >= 1 && fen <= refundable)) {
        error.textContent = LP.format("case_amount_help", { max: LP.yuan(refundable) });
        return;
      }
      const [caseType, reason] = type.value.split("/");
      const body = { type: caseType, reason, amount: fen, text: text.value.trim() };
      if (order.quantity > 1) body.quantity = Number(quantity.value);
      if (caseType === "promise_breach") body.promise_id = Number(promise.value);
      submit.disabled = true;
      let opened;
      try {
        opened = await LP.api("POST", `/api/v1/orders/${order.id}/cases`, body);
      } catch (failure) {
        error.textContent = failure.message;
        submit.disabled = false;
        return;
      }
      let note = LP.t("case_submitted");
      if (files.length) {
        try { await CasePages.postPhotos(opened.id, "", files); }
        catch (failure) { note = LP.t("case_photos_failed") + failure.message; }
      }
      sessionStorage.setItem("lp-case-note", note);
      location.href = `/cases/${opened.id}`;
    });
    return form;
  },

  entryNode(entry) {
    const data = entry.data || {};
    const what = [LP.t("case_actor_" + entry.actor), LP.t("case_entry_" + entry.kind)];
    if (data.amount) what.push(`¥${LP.yuan(data.amount)}`);
    const photos = (data.photos || []).map((p) => LP.el("a", { href: p.large, target: "_blank", rel: "noopener" },
      LP.el("img", { src: p.thumb, alt: LP.t("case_photo"), loading: "lazy" })));
    return LP.el("li", { "data-kind": entry.kind, "data-actor": entry.actor },
      LP.el("div", { class: "what" }, what.join(" · ")),
      entry.text ? LP.el("div", { class: "case-text" }, entry.text) : null,
      data.held ? LP.el("div", { class: "field-error", "data-testid": "held" }, LP.t("case_held")) : null,
      photos.length ? LP.el("div", { class: "case-photos" }, ...photos) : null,
      LP.el("time", { datetime: entry.at }, LP.time(entry.at)));
  },

  left(deadline) {
    const ms = new Date(deadline) - Date.now();
    if (ms <= 0) return LP.t("case_overdue");
    const minutes = Math.floor(ms / 60000);
    const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    const en = window.LP_LANG === "en";
    const text = d ? (en ? `${d}d ${h}h` : `${d}天${h}小时`) : h ? (en ? `${h}h ${m}m` : `${h}小时${m}分`) : (en ? `${m}m` : `${m}分钟`);
    return LP.format("case_left", { t: text });
  },
};

async function casePage(root) {
  const caseId = root.dataset.caseId;
  const isBuyer = root.dataset.buyer === "true";
  const $ = (id) => document.getElementById(id);
  const fill = (node, ...kids) => node.replaceChildren(...kids.filter((k) => k !== null && k !== undefined));
  const note = sessionStorage.getItem("lp-case-note");
  if (note) { sessionStorage.removeItem("lp-case-note"); LP.toast(note); }

  const act = async (path, body, question) => {
    if (question && !(await LP.confirm(question))) return;
    try { render(await LP.api("POST", `/api/v1/cases/${caseId}/${path}`, body)); }
    catch (failure) { LP.toast(LP.t("case_action_failed") + failure.message, true); }
  };
  const button = (label, onclick, cls, testid) => LP.el("button", { type: "button", class: cls || "", onclick, "data-testid": testid }, label);

  const actions = (c) => {
    const out = [];
    if (!isBuyer) return out;
    if (c.status === "awaiting_buyer" && c.offered_amount) {
      out.push(LP.el("p", { "data-testid": "case-offer" }, LP.format("case_offered", { amount: LP.yuan(c.offered_amount) })),
        LP.el("div", { class: "actions" },
          button(LP.t("case_accept"), () => act("buyer", { action: "accept_offer" }), "primary", "case-accept"),
          button(LP.t("case_decline"), () => act("buyer", { action: "decline_offer" }), "", "case-decline")));
    }
    if (c.status === "awaiting_return" && c.return_address) {
      const carrier = LP.el("input", { maxlength: "64", placeholder: LP.t("case_carrier"), "data-testid": "return-carrier" });
      const tracking = LP.el("input", { maxlength: "64", placeholder: LP.t("case_tracking"), "data-testid": "return-tracking" });
      const a = c.return_address;
      out.push(LP.el("div", { class: "return-to", "data-testid": "return-address" },
        LP.el("b", {}, LP.t("case_return_to")), `${a.recipient} ${a.phone} · ${LP.addressLine(a)}`),
        LP.el("div", { class: "case-row" }, carrier, tracking,
          button(LP.t("case_ship_return"), () => {
            if (!carrier.value.trim() || !tracking.value.trim()) { LP.toast(`${LP.t("case_carrier")} / ${LP.t("case_tracking")}`, true); return; }
            act("buyer", { action: "ship_return", carrier: carrier.value.trim(), tracking_number: tracking.value.trim() });
          }, "primary", "case-ship-return")));
    }
    if (c.status === "return_shipped") {
      out.push(LP.el("p", {}, LP.format("case_returned_via", { carrier: c.return_carrier, tracking: c.return_tracking })));
    }
    if (c.status === "refused") {
      const why = LP.el("textarea", { rows: "2", maxlength: "1000", placeholder: LP.t("case_escalate_why"), "data-testid": "escalate-text" });
      out.push(why, button(LP.t("case_escalate"), () => act("escalate", { text: why.value.trim() }), "primary", "case-escalate"));
    }
    if (CasePages.OPEN.includes(c.status)) {
      out.push(LP.el("div", { class: "actions" },
        button(LP.t("case_withdraw"), () => act("buyer", { action: "withdraw" }, LP.t("case_confirm_withdraw")), "link", "case-withdraw")));
    }
    return out;
  };

  let current = null;
  const renderTurn = (c) => {
    const open = c.status !== "closed";
    $("case-turn").textContent = !open ? LP.t("case_closed")
      : [LP.t("case_turn_" + c.turn), c.deadline ? `${LP.t("case_deadline")} ${LP.time(c.deadline)} · ${CasePages.left(c.deadline)}` : ""].filter(Boolean).join(" · ");
    $("case-turn").dataset.turn = c.turn || "none";
  };
  const render = (c) => {
    CasePages.statusBadge($("case-status"), c.status);
    fill($("case-what"),
      LP.el("b", {}, `${LP.t("case_type_" + c.type)} · ${LP.t("case_reason_" + c.reason)}`),
      LP.el("div", { class: "muted small" }, `${LP.t("case_no")} ${c.id} · ${LP.time(c.opened_at)}`),
      c.outcome ? LP.el("div", { class: "case-outcome", "data-testid": "case-outcome" }, c.outcome) : null);
    current = c;
    renderTurn(c);
    fill($("case-money"),
      LP.el("span", {}, `${LP.t("case_asked")} `, LP.el("b", {}, `¥${LP.yuan(c.amount)}`)),
      LP.el("span", {}, `${LP.t("case_refunded")} `, LP.el("b", { class: c.refunded ? "refunded" : "", "data-testid": "case-refunded" }, `¥${LP.yuan(c.refunded)}`)),
      c.awarded ? LP.el("span", {}, `${LP.t("case_awarded")} `, LP.el("b", { class: "refunded" }, `¥${LP.yuan(c.awarded)}`)) : null);
    $("case-actions").replaceChildren(...actions(c));
    $("case-record").replaceChildren(...c.record.map(CasePages.entryNode));
    $("case-message-panel").hidden = c.status === "closed";
  };

  $("case-message").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("case-message-text").value.trim();
    const files = Array.from($("case-message-photos").files || []);
    const bad = CasePages.photoError(files);
    if (bad) { LP.toast(bad, true); return; }
    if (!text && !files.length) return;
    try {
      const view = files.length ? await CasePages.postPhotos(caseId, text, files)
        : await LP.api("POST", `/api/v1/cases/${caseId}/messages`, { text });
      $("case-message-text").value = "";
      $("case-message-photos").value = "";
      if (view.message && view.message.held) LP.toast(view.message.reason, true);
      render(view);
    } catch (failure) { LP.toast(LP.t("case_action_failed") + failure.message, true); }
  });

  const c = await LP.api("GET", `/api/v1/cases/${caseId}`);
  render(c);
  const order = await LP.api("GET", `/api/v1/orders/${c.order_id}`);
  $("case-order").replaceChildren(OrderPages.summary(order),
    LP.el("div", { class: "actions" },
      LP.el("a", { class: "button", href: `/orders/${order.id}` }, LP.t("order_detail")),
      LP.el("a", { class: "button", href: c.evidence_url, target: "_blank", rel: "noopener" }, LP.t("case_evidence"))));
  setInterval(() => { if (current && current.status !== "closed") renderTurn(current); }, 30000);
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("case-page");
  if (root) casePage(root).catch((error) => LP.toast(error.message, true));
});
