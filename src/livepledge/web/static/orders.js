"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const body = document.querySelector("#my-orders tbody");
  const render = (orders) => {
    body.replaceChildren();
    for (const order of orders) {
      const cell = LP.el("td", { class: "actions" });
      const act = (label, path, question) => cell.append(LP.el("button", { onclick: async () => {
        if (question && !(await LP.confirm(question))) return;
        try { await LP.api("POST", `/api/v1/orders/${order.id}/${path}`, {}); load(); }
        catch (error) { LP.toast(error.message, true); }
      } }, label));
      if (order.status === "pending_payment") {
        cell.append(LP.el("a", { class: "button primary", href: `/checkout/${order.id}` }, LP.t("go_pay")));
        act(LP.t("cancel"), "cancel", LP.t("confirm_cancel_order"));
      }
      if (order.status === "shipped") act(LP.t("receive"), "receive", LP.t("confirm_receive"));
      cell.append(LP.el("a", { class: "button link", href: `/orders/${order.id}` }, LP.t("view")));
      const shipping = order.tracking_number ? ` · ${order.carrier} ${order.tracking_number}` : "";
      const reason = order.cancel_reason ? ` · ${order.cancel_reason}` : "";
      body.append(LP.el("tr", {},
        LP.el("td", {}, LP.el("a", { href: `/orders/${order.id}` }, `#${order.id}`)),
        LP.el("td", {}, `${order.snapshot.product_title} · ${order.snapshot.sku_name} ×${order.quantity}`),
        LP.el("td", {}, `¥${LP.yuan(order.amount)}`),
        LP.el("td", {}, LP.statusText(order.status) + shipping + reason),
        cell));
    }
  };
  const load = async () => {
    const orders = await LP.api("GET", "/api/v1/orders");
    render(orders);
    if (!orders.length) body.append(LP.el("tr", {}, LP.el("td", { colspan: "5", class: "muted" }, LP.t("no_orders"))));
  };
  load();
});
