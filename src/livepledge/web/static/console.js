// Merchant console: catalog, sessions, lineup, go live, pin, and orders arriving in real time.
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const $ = (id) => document.getElementById(id);
  const state = { shopId: null, sessionId: null, orders: new Map(), refreshTimer: null };
  const run = async (fn) => { try { await fn(); } catch (error) { LP.toast(error.message, true); } };

  const me = await LP.api("GET", "/api/v1/me");
  const membership = me.shops.find((s) => s.role === "owner" || s.role === "staff")
    || me.shops[0];
  if (!membership) {
    if (me.role === "merchant") $("shop-panel").hidden = false;
    else LP.toast(LP.t("no_shop"), true);
  } else {
    await openShop(membership.shop_id);
  }

  $("shop-form").addEventListener("submit", (event) => run(async () => {
    event.preventDefault();
    const shop = await LP.api("POST", "/api/v1/shops", Object.fromEntries(new FormData(event.target)));
    $("shop-panel").hidden = true;
    await openShop(shop.id);
  }));

  async function openShop(shopId) {
    state.shopId = shopId;
    const shop = await LP.api("GET", `/api/v1/shops/${shopId}`);
    $("shop-title").textContent = shop.name;
    $("audit-link").href = `/api/v1/shops/${shopId}/audit/report.html`;
    $("shop-ui").hidden = false;
    await Promise.all([loadProducts(), loadSessions(), loadAnchors(), loadOrders()]);
    listen();
  }

  async function loadProducts() {
    const products = await LP.api("GET", `/api/v1/shops/${state.shopId}/products`);
    const body = $("products").tBodies[0];
    body.replaceChildren();
    const select = $("sku-select");
    select.replaceChildren();
    for (const product of products) {
      const skus = product.skus.map((s) => `${s.name} ¥${LP.yuan(s.price)} ×${s.stock}`).join("；");
      const actions = LP.el("td", {}, LP.el("button", { onclick: () => run(async () => {
        await LP.api("POST", `/api/v1/products/${product.id}/archive`);
        await loadProducts();
      }) }, LP.t("archive")));
      if (product.status === "draft") {
        actions.append(LP.el("button", { onclick: () => run(async () => {
          await LP.api("POST", `/api/v1/products/${product.id}/publish`);
          await loadProducts();
        }) }, LP.t("publish")));
      }
      const findings = product.compliance.findings.length
        ? LP.findingsList(product.compliance.findings) : null;
      body.append(LP.el("tr", { dataset: { productId: product.id } },
        LP.el("td", {}, product.title, findings),
        LP.el("td", {}, product.category),
        LP.el("td", {}, LP.statusText(product.status)),
        LP.el("td", {}, skus), actions));
      for (const sku of product.skus) {
        select.append(LP.el("option", { value: sku.id }, `${product.title} · ${sku.name} (${sku.stock})`));
      }
    }
  }

  $("product-form").addEventListener("submit", (event) => run(async () => {
    event.preventDefault();
    const f = event.target.elements;
    await LP.api("POST", `/api/v1/shops/${state.shopId}/products`, {
      title: f.title.value, category: f.category.value,
      skus: [{ name: f.sku.value, price: LP.toFen(f.price.value), stock: Number(f.stock.value) }],
    });
    event.target.reset();
    await loadProducts();
  }));

  async function loadAnchors() {
    const members = await LP.api("GET", `/api/v1/shops/${state.shopId}/members`);
    const select = $("anchor-select");
    select.replaceChildren();
    for (const m of members.filter((m) => m.role === "anchor")) {
      select.append(LP.el("option", { value: m.user_id }, `${m.display_name} (${m.login})`));
    }
  }

  $("anchor-form").addEventListener("submit", (event) => run(async () => {
    event.preventDefault();
    await LP.api("POST", `/api/v1/shops/${state.shopId}/members`,
      { login: event.target.elements.login.value, role: "anchor" });
    event.target.reset();
    await loadAnchors();
  }));

  async function loadSessions() {
    const sessions = await LP.api("GET", `/api/v1/shops/${state.shopId}/sessions`);
    const list = $("sessions");
    list.replaceChildren();
    for (const s of sessions) {
      list.append(LP.el("li", {}, LP.el("button", { class: "link", onclick: () => run(() => openSession(s.id)) },
        `#${s.id} ${s.title}`), " ", LP.el("span", { class: `badge badge-${s.status}` }, s.status)));
    }
    if (!state.sessionId && sessions.length) await openSession(sessions[0].id);
  }

  $("session-form").addEventListener("submit", (event) => run(async () => {
    event.preventDefault();
    const f = event.target.elements;
    const session = await LP.api("POST", `/api/v1/shops/${state.shopId}/sessions`, {
      title: f.title.value, anchor_id: Number(f.anchor_id.value),
      scheduled_at: new Date().toISOString(), playback_url: f.playback_url.value || null,
    });
    event.target.reset();
    state.sessionId = null;
    await loadSessions();
    await openSession(session.id);
  }));

  $("script-check").addEventListener("click", () => run(async () => {
    const result = await LP.api("POST", `/api/v1/sessions/${state.sessionId}/scripts`,
      { text: $("script-text").value });
    $("script-result").replaceChildren(result.findings.length
      ? LP.findingsList(result.findings) : LP.el("p", {}, LP.t("no_findings")));
  }));

  function addAlert(segment, corrections) {
    if (!segment.findings.length || document.querySelector(`[data-segment-id="${segment.id}"]`)) return;
    const done = corrections.filter((c) => c.segment_id === segment.id);
    const item = LP.el("li", { dataset: { segmentId: segment.id } },
      LP.el("div", {}, `「${segment.text}」`), LP.findingsList(segment.findings));
    const status = LP.el("div", { class: "muted" }, ...done.map((c) => `${LP.t("corrected")}：${c.text}`));
    item.append(status, LP.el("button", { onclick: () => run(async () => {
      const text = prompt(LP.t("correction_prompt"));
      if (!text) return;
      const c = await LP.api("POST", `/api/v1/sessions/${state.sessionId}/corrections`,
        { text, segment_id: segment.id });
      status.append(`${LP.t("corrected")}：${c.text}`);
    }) }, LP.t("record_correction")));
    $("alerts").prepend(item);
  }

  async function loadOversight(sessionId) {
    $("alerts").replaceChildren();
    try {
      const log = await LP.api("GET", `/api/v1/sessions/${sessionId}/oversight`);
      for (const segment of log.segments) addAlert(segment, log.corrections);
    } catch (error) { /* anchors of other shops: nothing to show */ }
  }

  async function openSession(sessionId) {
    if (state.sessionId !== sessionId) await loadOversight(sessionId);
    state.sessionId = sessionId;
    const session = await LP.api("GET", `/api/v1/sessions/${sessionId}`);
    $("session-panel").hidden = false;
    $("session-title").textContent = `#${session.id} ${session.title}`;
    $("session-status").textContent = session.status;
    $("session-status").className = `badge badge-${session.status}`;
    $("room-link").href = `/live/${session.id}`;
    const body = $("lineup").tBodies[0];
    body.replaceChildren();
    for (const item of session.lineup) {
      const pinned = session.pinned_item_id === item.id;
      body.append(LP.el("tr", { dataset: { itemId: item.id } },
        LP.el("td", {}, `${item.product_title} · ${item.sku_name}`),
        LP.el("td", {}, `¥${LP.yuan(item.live_price)}`),
        LP.el("td", { class: "stock" }, `${item.stock_remaining}/${item.stock_allocated}`),
        LP.el("td", {}, item.sale_state),
        LP.el("td", {}, LP.el("button", { onclick: () => run(async () => {
          await LP.api("POST", `/api/v1/sessions/${sessionId}/${pinned ? "unpin" : "pin"}`,
            pinned ? undefined : { item_id: item.id });
          await openSession(sessionId);
        }) }, pinned ? LP.t("unpin") : LP.t("pin")))));
    }
  }

  $("start").addEventListener("click", () => run(async () => {
    await LP.api("POST", `/api/v1/sessions/${state.sessionId}/start`);
    await openSession(state.sessionId);
    await loadSessions();
  }));
  $("end").addEventListener("click", () => run(async () => {
    await LP.api("POST", `/api/v1/sessions/${state.sessionId}/end`);
    await openSession(state.sessionId);
    await loadSessions();
  }));

  $("lineup-form").addEventListener("submit", (event) => run(async () => {
    event.preventDefault();
    const f = event.target.elements;
    const start = new Date(Date.now() - 1000);
    await LP.api("POST", `/api/v1/sessions/${state.sessionId}/lineup`, {
      sku_id: Number(f.sku_id.value), live_price: LP.toFen(f.live_price.value),
      stock_allocated: Number(f.stock_allocated.value), per_buyer_limit: Number(f.per_buyer_limit.value),
      sale_starts_at: start.toISOString(),
      sale_ends_at: new Date(start.getTime() + Number(f.minutes.value) * 60000).toISOString(),
    });
    await openSession(state.sessionId);
    await loadProducts();
  }));

  async function loadOrders() {
    const orders = await LP.api("GET", `/api/v1/shops/${state.shopId}/orders?limit=100`);
    $("orders").tBodies[0].replaceChildren();
    for (const order of orders.reverse()) upsertOrder(order);
  }

  function upsertOrder(order) {
    state.orders.set(order.id, order);
    const row = LP.el("tr", { dataset: { orderId: order.id } },
      LP.el("td", {}, `#${order.id}`),
      LP.el("td", {}, `${order.snapshot.product_title} · ${order.snapshot.sku_name}`),
      LP.el("td", {}, order.quantity),
      LP.el("td", {}, `¥${LP.yuan(order.amount)}`),
      LP.el("td", { class: "status" }, LP.statusText(order.status)),
      LP.el("td", {}, actions(order)));
    const existing = document.querySelector(`#orders tr[data-order-id="${order.id}"]`);
    if (existing) existing.replaceWith(row);
    else $("orders").tBodies[0].prepend(row);
  }

  function actions(order) {
    const box = LP.el("span", {});
    if (order.status === "paid") {
      const carrier = LP.el("input", { placeholder: LP.t("carrier"), size: 6 });
      const tracking = LP.el("input", { placeholder: LP.t("tracking"), size: 10 });
      box.append(carrier, tracking, LP.el("button", { onclick: () => run(async () => {
        upsertOrder(await LP.api("POST", `/api/v1/orders/${order.id}/ship`,
          { carrier: carrier.value, tracking_number: tracking.value }));
      }) }, LP.t("ship")));
    }
    if (order.status === "paid" || order.status === "pending_payment") {
      box.append(LP.el("button", { onclick: () => run(async () => {
        const reason = prompt(LP.t("cancel_reason"));
        if (!reason) return;
        upsertOrder(await LP.api("POST", `/api/v1/orders/${order.id}/cancel`,
          { reason_code: "other", reason }));
      }) }, LP.t("cancel")));
    }
    return box;
  }

  function listen() {
    const socket = new WebSocket(LP.wsUrl(`/ws/shops/${state.shopId}`));
    socket.addEventListener("message", (event) => run(async () => {
      const message = JSON.parse(event.data);
      if (message.type === "order_placed") upsertOrder(message.order);
      if (message.type === "compliance_alert" && message.segment.session_id === state.sessionId) {
        addAlert(message.segment, []);
      }
      if (message.type === "order_paid") {
        upsertOrder(await LP.api("GET", `/api/v1/orders/${message.order_id}`));
      }
      if (state.sessionId && !state.refreshTimer) {
        state.refreshTimer = setTimeout(() => {
          state.refreshTimer = null;
          run(() => openSession(state.sessionId));
        }, 500);
      }
    }));
    socket.addEventListener("close", () => setTimeout(listen, 1000));
  }
});
