// The checkout page (choose an address, pay, or cancel an unpaid order) and the order detail
// page (timeline, address, actions). Both read the same order from the API.
"use strict";

const OrderPages = {
  summary(order) {
    const s = order.snapshot;
    return LP.el("div", { class: "order-line" },
      LP.el("div", {}, LP.el("b", {}, s.product_title), LP.el("div", { class: "muted" }, `${s.sku_name} × ${order.quantity}`)),
      // The shop's list price is a real current price, shown as such, never struck through
      // as if it had been the price before (docs/promises.md, reference price).
      LP.el("div", { class: "right" }, `¥${LP.yuan(order.unit_price)}`,
        s.list_price > order.unit_price
          ? LP.el("div", { class: "muted small" }, `${LP.t("list_price")} ¥${LP.yuan(s.list_price)}`) : null),
      LP.el("div", { class: "muted small full" },
        `${LP.t("order_no")} ${order.id} · ${LP.t("placed_at")} ${LP.time(order.created_at)}`),
      LP.el("div", { class: "muted small full" }, `${LP.t("seller_info")}：${s.seller.name}（${s.seller.legal_name}）`));
  },

  stepText(step) {
    const parts = [LP.t("step_" + step.step)];
    if (step.step === "paid") parts.push(`¥${LP.yuan(step.amount)}`);
    if (step.step === "paid" && step.coupon_discount) parts.push(LP.format("coupon_off", { amount: LP.yuan(step.coupon_discount) }));
    if (step.step === "shipped") parts.push(`${step.carrier} ${step.tracking_number}`);
    if (step.step === "cancelled") {
      parts.push(LP.t("cancelled_by_" + (step.by || "system")));
      if (step.reason) parts.push(`${LP.t("reason")}${LP.t("colon")}${step.reason}`);
      if (step.refunded) parts.push(`${LP.t("refunded")} ¥${LP.yuan(step.refunded)}`);
    }
    return parts.join(" · ");
  },

  promises(list, frozen) {
    if (!list || !list.length) return [LP.el("p", { class: "muted" }, LP.t("promises_none"))];
    const lang = document.documentElement.lang === "en" ? "en" : "zh-CN";
    const items = list.map((p) => LP.el("li", { class: "promise", "data-kind": p.kind },
      LP.el("span", { class: "badge promise-badge" }, p.label[lang]),
      LP.el("div", {}, p.description[lang],
        LP.el("div", { class: "muted small" },
          LP.t(p.enforced ? "promise_enforced" : "promise_recorded"),
          p.hash ? ` · #${p.hash.slice(0, 12)}` : ""))));
    const out = [LP.el("ul", { class: "promise-list", "data-testid": "promises" }, ...items)];
    if (frozen) out.push(LP.el("p", { class: "muted small" }, LP.t("promise_frozen")));
    return out;
  },

  money(order) {
    const rows = (order.refunds || []).map((r) => LP.el("li", { "data-reason": r.reason },
      LP.el("span", {}, LP.t("refund_reason_" + r.reason)),
      LP.el("b", {}, `¥${LP.yuan(r.amount)}`),
      LP.el("time", { class: "muted small", datetime: r.at }, LP.time(r.at))));
    return [LP.el("ul", { class: "money-list", "data-testid": "refunds" }, ...rows),
      LP.el("p", { class: "right" }, `${LP.t("refunded_total")} ¥${LP.yuan(order.refunded_total || 0)}`,
        order.compensated_total ? ` · ${LP.t("compensated_total")} ¥${LP.yuan(order.compensated_total)}` : "")];
  },

  cooling(order) {
    return order.status === "paid" && order.cooling_off_until
      && new Date(order.cooling_off_until) > new Date();
  },

  timeline(order) {
    return order.timeline.map((step) => LP.el("li", { class: "step-" + step.step, "data-step": step.step },
      LP.el("div", { class: "what" }, OrderPages.stepText(step)),
      LP.el("time", { datetime: step.at }, LP.time(step.at))));
  },

  countdown(order, node, onExpired) {
    const tick = () => {
      const left = Math.max(0, Math.floor((new Date(order.expires_at) - Date.now()) / 1000));
      const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      node.textContent = LP.format("pay_within", { t: text });
      if (left === 0) { clearInterval(timer); onExpired(); }
    };
    const timer = setInterval(tick, 1000);
    tick();
    return timer;
  },
};

async function checkoutPage(root) {
  const orderId = root.dataset.orderId;
  let order = await LP.api("GET", `/api/v1/orders/${orderId}`);
  let chosen = null;
  let timer = null;
  let usable = [];  // my claimed coupons that apply to this order, with their discount
  const $ = (id) => document.getElementById(id);
  const state = (message) => { $("checkout-state").hidden = false; $("checkout-state").textContent = message; };

  const renderAddresses = async () => {
    const book = await Addresses.list();
    if (chosen === null || !book.some((a) => a.id === chosen)) {
      const preferred = book.find((a) => a.is_default) || book[0];
      chosen = preferred ? preferred.id : null;
    }
    const box = $("address-choices");
    box.replaceChildren();
    if (!book.length) box.append(LP.el("p", { class: "muted" }, LP.t("no_addresses")));
    for (const address of book) {
      const card = Addresses.card(address);
      card.classList.toggle("chosen", address.id === chosen);
      card.setAttribute("role", "radio");
      card.setAttribute("aria-checked", String(address.id === chosen));
      card.tabIndex = 0;
      card.addEventListener("click", () => { chosen = address.id; renderAddresses(); });
      box.append(card);
    }
    $("pay-now").disabled = chosen === null || order.status !== "pending_payment";
    if (!book.length) openForm();
  };
  const openForm = () => {
    const holder = $("checkout-address-form");
    holder.replaceChildren(Addresses.form(null, (saved) => {
      chosen = saved.id; holder.hidden = true; holder.replaceChildren(); renderAddresses();
    }, () => { holder.hidden = true; holder.replaceChildren(); }));
    holder.hidden = false;
  };
  const renderCoupons = async () => {
    const select = $("coupon-choice");
    select.replaceChildren(LP.el("option", { value: "" }, LP.t("no_coupon")));
    usable = order.status === "pending_payment"
      ? await LP.api("GET", `/api/v1/orders/${orderId}/coupons`) : [];
    for (const c of usable) {
      select.append(LP.el("option", { value: String(c.id) },
        LP.format("coupon_option", { title: c.title, amount: LP.yuan(c.discount_on_order) })));
    }
    if (usable.length) select.value = String(usable[0].id);  // the best one, as shops do
    $("coupon-note").textContent = usable.length ? "" : LP.t("no_usable_coupons");
    select.disabled = !usable.length;
  };
  const render = () => {
    const pending = order.status === "pending_payment";
    $("summary-body").replaceChildren(OrderPages.summary(order));
    $("checkout-promises").replaceChildren(...OrderPages.promises(order.promises, false));
    const coupon = usable.find((c) => String(c.id) === $("coupon-choice").value);
    const due = order.status === "pending_payment" && coupon ? coupon.payable
      : (order.paid_amount ?? order.amount);
    const off = order.amount - due;
    $("amount-due").textContent = `¥${LP.yuan(due)}`;
    $("amount-discount").hidden = off <= 0;
    $("amount-discount").textContent = off > 0 ? LP.format("coupon_off", { amount: LP.yuan(off) }) : "";
    $("coupons").hidden = !pending && !(order.coupon_discount > 0);
    $("pay-now").hidden = $("cancel-order").hidden = !pending;
    $("new-address").hidden = !pending;
    if (timer) clearInterval(timer);
    if (pending) {
      timer = OrderPages.countdown(order, $("pay-deadline"), () => {
        $("pay-now").disabled = true; state(LP.t("payment_expired"));
      });
    } else {
      $("pay-deadline").textContent = "";
      const link = LP.el("a", { href: `/orders/${order.id}` }, LP.t("order_detail"));
      const message = { paid: "payment_done", expired: "payment_expired", cancelled: "order_cancelled" }[order.status];
      $("checkout-state").hidden = false;
      $("checkout-state").replaceChildren(LP.t(message || "status_" + order.status), " ", link);
    }
  };

  $("new-address").addEventListener("click", openForm);
  $("coupon-choice").addEventListener("change", () => render());
  $("pay-now").addEventListener("click", async () => {
    $("pay-now").disabled = true;
    try {
      const cooling = $("cooling-off").value;
      const body = { address_id: chosen };
      if (cooling !== "") body.cooling_off_minutes = Number(cooling);
      if ($("coupon-choice").value) body.claim_id = Number($("coupon-choice").value);
      order = await LP.api("POST", `/api/v1/orders/${orderId}/pay`, body);
      LP.toast(LP.t("payment_done"));
    } catch (error) {
      LP.toast(error.message, true);
      order = await LP.api("GET", `/api/v1/orders/${orderId}`);
      try { await renderCoupons(); } catch (e) { usable = []; }
    }
    render();
    renderAddresses();
  });
  $("cancel-order").addEventListener("click", async () => {
    if (!(await LP.confirm(LP.t("confirm_cancel_order")))) return;
    try { order = await LP.api("POST", `/api/v1/orders/${orderId}/cancel`, {}); }
    catch (error) { LP.toast(error.message, true); }
    render();
  });
  try {
    const mine = await LP.api("GET", "/api/v1/me/cooling-off");
    $("cooling-off").value = String(mine.minutes || 0);
  } catch (error) { /* the choice stays at "none" */ }
  try { await renderCoupons(); } catch (error) { usable = []; }
  render();
  if (order.status === "pending_payment") await renderAddresses();
  else $("ship-to").hidden = true;
}

async function detailPage(root) {
  const orderId = root.dataset.orderId;
  const $ = (id) => document.getElementById(id);
  const button = (label, onclick, cls) => LP.el("button", { type: "button", class: cls || "", onclick }, label);
  const render = (order) => {
    $("order-status").textContent = LP.statusText(order.status);
    $("order-status").dataset.status = order.status;
    $("timeline").replaceChildren(...OrderPages.timeline(order));
    const a = order.shipping_address;
    $("order-address").replaceChildren(a ? Addresses.card(a) : LP.el("p", { class: "muted" }, LP.t("no_addresses")));
    $("order-summary").replaceChildren(OrderPages.summary(order),
      LP.el("p", { class: "right" }, `${LP.t("amount")} `, LP.el("b", { class: "live-price" }, `¥${LP.yuan(order.amount)}`)));
    $("order-promises").replaceChildren(...OrderPages.promises(order.promises, true));
    $("order-money").hidden = !(order.refunds && order.refunds.length);
    $("order-money-body").replaceChildren(...OrderPages.money(order));
    if (typeof CasePages !== "undefined") CasePages.orderPanel(order, $("order-cases"), root.dataset.buyer === "true");
    const cooling = OrderPages.cooling(order);
    $("order-cooling").hidden = !cooling;
    if (cooling) $("order-cooling").textContent = LP.format("cooling_until", { t: LP.time(order.cooling_off_until) });
    const actions = $("order-actions");
    actions.replaceChildren();
    const act = (label, path, question, cls) => actions.append(button(label, async () => {
      if (question && !(await LP.confirm(question))) return;
      try { render(await LP.api("POST", `/api/v1/orders/${order.id}/${path}`, {})); }
      catch (error) { LP.toast(error.message, true); }
    }, cls));
    if (order.status === "pending_payment") {
      actions.append(LP.el("a", { class: "button primary", href: `/checkout/${order.id}` }, LP.t("go_pay")));
      act(LP.t("cancel_order"), "cancel", LP.t("confirm_cancel_order"), "link");
    }
    if (cooling && root.dataset.buyer === "true") {
      act(LP.t("cooling_cancel"), "cancel", LP.t("confirm_cooling_cancel"), "primary");
    }
    if (order.status === "paid" && root.dataset.buyer === "true") {
      // a prize order starts without an address: the winner gives one here
      actions.append(button(LP.t(order.shipping_address ? "change_address" : "give_address"), async () => {
        const book = await Addresses.list();
        const box = LP.el("div", { class: "address-list" });
        for (const address of book) {
          box.append(Addresses.card(address, button(LP.t("ship_to"), async () => {
            try {
              render(await LP.api("PUT", `/api/v1/orders/${order.id}/address`, { address_id: address.id }));
            } catch (error) { LP.toast(error.message, true); }
          }, "link")));
        }
        $("order-address").replaceChildren(box);
      }, "link"));
    }
    if (order.status === "shipped") act(LP.t("receive"), "receive", LP.t("confirm_receive"), "primary");
  };
  const order = await LP.api("GET", `/api/v1/orders/${orderId}`);
  render(order);
}

document.addEventListener("DOMContentLoaded", () => {
  const checkout = document.getElementById("checkout");
  if (checkout) checkoutPage(checkout).catch((error) => LP.toast(error.message, true));
  const detail = document.getElementById("order-detail");
  if (detail) detailPage(detail).catch((error) => LP.toast(error.message, true));
});
