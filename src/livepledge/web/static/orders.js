"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const body = document.querySelector("#my-orders tbody");
  const render = (orders) => {
    body.replaceChildren();
    for (const order of orders) {
      const cell = LP.el("td", {});
      const act = (label, path) => cell.append(LP.el("button", { onclick: async () => {
        try { await LP.api("POST", `/api/v1/orders/${order.id}/${path}`, {}); load(); }
        catch (error) { LP.toast(error.message, true); }
      } }, label));
      if (order.status === "pending_payment") { act(LP.t("pay"), "pay"); act(LP.t("cancel"), "cancel"); }
      if (order.status === "shipped") act(LP.t("receive"), "receive");
      const shipping = order.tracking_number ? ` · ${order.carrier} ${order.tracking_number}` : "";
      const reason = order.cancel_reason ? ` · ${order.cancel_reason}` : "";
      body.append(LP.el("tr", {},
        LP.el("td", {}, `#${order.id}`),
        LP.el("td", {}, `${order.snapshot.product_title} · ${order.snapshot.sku_name} ×${order.quantity}`),
        LP.el("td", {}, `¥${LP.yuan(order.amount)}`),
        LP.el("td", {}, LP.statusText(order.status) + shipping + reason),
        cell));
    }
  };
  const load = async () => render(await LP.api("GET", "/api/v1/orders"));
  load();
});
