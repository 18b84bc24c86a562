// The live room: one WebSocket; snapshot first, then events applied on top of it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const room = document.getElementById("room");
  const sessionId = Number(room.dataset.sessionId);
  const loggedIn = room.dataset.loggedIn === "true";
  const state = { session: null, stock: {}, chatIds: new Set(), order: null, buyKey: null,
                  serverOffset: 0 };
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let heartbeat = null;
  let retryDelay = 500;

  function deviceId() {
    let id = localStorage.getItem("lp_device");
    if (!id) { id = crypto.randomUUID(); localStorage.setItem("lp_device", id); }
    return id;
  }

  function connect() {
    socket = new WebSocket(LP.wsUrl(`/ws/sessions/${sessionId}?device=${deviceId()}`));
    socket.addEventListener("open", () => { retryDelay = 500; });
    socket.addEventListener("message", (event) => apply(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      clearInterval(heartbeat);
      setTimeout(connect, retryDelay);  // reconnect takes a fresh snapshot
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
    heartbeat = setInterval(() => send({ type: "heartbeat" }), 10000);
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function apply(message) {
    switch (message.type) {
      case "snapshot":
        state.serverOffset = Date.parse(message.server_time) - Date.now();
        setSession(message.session);
        $("viewers").textContent = message.viewers;
        $("likes").textContent = message.likes_total;
        for (const chat of message.recent_chat) addChat(chat);
        break;
      case "session": setSession(message.session); break;
      case "stock":
        state.stock[message.item_id] = message.stock_remaining;
        renderCard();
        break;
      case "tick":
        $("viewers").textContent = message.viewers;
        $("likes").textContent = message.likes_total;
        for (const chat of message.chat) addChat(chat);
        break;
      case "chat_removed": {
        const node = document.querySelector(`[data-chat-id="${message.id}"]`);
        if (node) node.remove();
        break;
      }
      case "chat_held": LP.toast(LP.t("held") + message.reason, true); break;
      case "error": LP.toast(message.problem.detail, true); break;
    }
  }

  function setSession(session) {
    state.session = session;
    for (const item of session.lineup) state.stock[item.id] = item.stock_remaining;
    $("status").textContent = session.status;
    $("status").className = `badge badge-${session.status}`;
    renderCard();
  }

  function pinned() {
    const session = state.session;
    if (!session || session.pinned_item_id === null) return null;
    return session.lineup.find((item) => item.id === session.pinned_item_id) || null;
  }

  function saleState(item) {
    const now = Date.now() + state.serverOffset;
    if (state.session.status === "ended" || now > Date.parse(item.sale_ends_at)) return "ended";
    if (state.session.status !== "live" || now < Date.parse(item.sale_starts_at)) return "upcoming";
    return "open";
  }

  function renderCard() {
    const item = pinned();
    $("card").hidden = !item;
    $("nocard").hidden = Boolean(item);
    if (!item) return;
    $("card-title").textContent = item.product_title;
    $("card-sku").textContent = item.sku_name;
    $("card-price").textContent = LP.yuan(item.live_price);
    $("card-list").textContent = LP.yuan(item.list_price);
    const stock = state.stock[item.id];
    $("card-stock").textContent = stock;
    $("card-limit").textContent = item.per_buyer_limit;
    $("qty").max = item.per_buyer_limit;
    const sale = saleState(item);
    const buy = $("buy");
    buy.disabled = sale !== "open" || stock <= 0;
    buy.textContent = !loggedIn ? LP.t("login_to_buy")
      : stock <= 0 ? LP.t("sold_out")
      : sale === "upcoming" ? LP.t("not_started")
      : sale === "ended" ? LP.t("sale_ended") : LP.t("buy");
    if (!loggedIn) buy.disabled = false;
    renderCountdown();
  }

  function renderCountdown() {
    const item = pinned();
    if (!item) return;
    const now = Date.now() + state.serverOffset;
    const sale = saleState(item);
    const target = sale === "upcoming" ? Date.parse(item.sale_starts_at) : Date.parse(item.sale_ends_at);
    const left = Math.max(0, Math.floor((target - now) / 1000));
    const hms = [Math.floor(left / 3600), Math.floor(left / 60) % 60, left % 60]
      .map((n) => String(n).padStart(2, "0")).join(":");
    $("card-countdown").textContent = sale === "ended" ? LP.t("sale_ended")
      : `${sale === "upcoming" ? LP.t("starts_in") : LP.t("ends_in")} ${hms}`;
  }
  setInterval(() => { if (state.session) renderCard(); }, 1000);

  function addChat(chat) {
    if (state.chatIds.has(chat.id)) return;
    state.chatIds.add(chat.id);
    const list = $("chat");
    list.append(LP.el("li", { dataset: { chatId: chat.id } },
      LP.el("b", {}, chat.user + "："), chat.text));
    while (list.children.length > 200) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
  }

  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!loggedIn) { location.href = `/login?next=/live/${sessionId}`; return; }
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text) return;
    send({ type: "chat", text });
    input.value = "";
  });

  $("like").addEventListener("click", () => {
    if (!loggedIn) { location.href = `/login?next=/live/${sessionId}`; return; }
    send({ type: "like", count: 1 });
  });

  $("buy").addEventListener("click", async () => {
    if (!loggedIn) { location.href = `/login?next=/live/${sessionId}`; return; }
    const item = pinned();
    if (!item) return;
    const quantity = Number($("qty").value) || 1;
    // One key per purchase attempt: a retried click after a network error cannot buy twice.
    state.buyKey = state.buyKey || crypto.randomUUID();
    const button = $("buy");
    button.disabled = true;
    try {
      const order = await LP.api("POST", `/api/v1/sessions/${sessionId}/lineup/${item.id}/orders`,
        { quantity }, { "Idempotency-Key": state.buyKey });
      state.order = order;
      state.buyKey = null;
      showOrder();
    } catch (error) {
      if (error.status && error.status < 500) state.buyKey = null;
      LP.toast(error.message, true);
    } finally {
      renderCard();
    }
  });

  function showOrder() {
    const order = state.order;
    $("order-result").hidden = false;
    $("order-text").textContent = `#${order.id} ${order.snapshot.product_title} ×${order.quantity} ¥${LP.yuan(order.amount)} · ${LP.statusText(order.status)}`;
    $("pay").hidden = order.status !== "pending_payment";
  }

  $("pay").addEventListener("click", () => {
    // Checkout: choose the address, see the amount and the deadline, then pay.
    location.href = `/checkout/${state.order.id}`;
  });

  connect();
});
