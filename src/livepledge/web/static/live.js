// The live room: one WebSocket; snapshot first, then events applied on top of it.
// Beside it, two small reads: the product bag's pictures and counts (/bag) and this buyer's
// orders in the session (/my-orders), refreshed when stock comes back (a cancellation) or an
// order of ours changes.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const room = document.getElementById("room");
  const sessionId = Number(room.dataset.sessionId);
  const loggedIn = room.dataset.loggedIn === "true";
  const state = { session: null, stock: {}, chatIds: new Set(), order: null, buyKey: null,
                  serverOffset: 0, bag: {}, sold: null, orders: [], sheetItem: null,
                  buying: false };
  const $ = (id) => document.getElementById(id);
  const bagIcon = LP.bagIcon;
  const FINAL = new Set(["cancelled", "expired", "received"]);
  let socket = null;
  let heartbeat = null;
  let retryDelay = 500;
  let ordersTimer = null;

  // Server messages carry both languages: "中文 / English". Show the page's language only.
  const local = LP.local;

  function deviceId() {
    let id = localStorage.getItem("lp_device");
    if (!id) { id = crypto.randomUUID(); localStorage.setItem("lp_device", id); }
    return id;
  }

  // The room's sockets go to its own listener when the server has one (LIVEPLEDGE_ROOM_PORT,
  // or LIVEPLEDGE_ROOM_PUBLIC_URL behind a proxy; docs/settings.md), else to this page's port.
  function roomUrl(path) {
    if (room.dataset.roomUrl) return room.dataset.roomUrl.replace(/\/$/, "") + path;
    if (room.dataset.roomPort) {
      return (location.protocol === "https:" ? "wss://" : "ws://") + location.hostname + ":"
        + room.dataset.roomPort + path;
    }
    return LP.wsUrl(path);
  }

  function connect() {
    socket = new WebSocket(roomUrl(`/ws/sessions/${sessionId}?device=${deviceId()}`));
    socket.addEventListener("open", () => { retryDelay = 500; });
    socket.addEventListener("message", (event) => apply(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      clearInterval(heartbeat);
      if (state.session && state.session.status === "ended") return;  // nothing more will come
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
      case "stock": {
        const before = state.stock[message.item_id];
        state.stock[message.item_id] = message.stock_remaining;
        render();
        // Units came back: an order was cancelled or expired — perhaps one of ours.
        if (before !== undefined && message.stock_remaining > before && hasOpenOrders()) {
          refreshOrders();
        }
        break;
      }
      case "tick":
        $("viewers").textContent = message.viewers;
        $("likes").textContent = message.likes_total;
        for (const chat of message.chat) addChat(chat);
        break;
      case "chat":
        // The server answers the sender's held message with the message itself (status
        // "held" and the reason); shown messages arrive in ticks.
        if (message.status === "held") held(message);
        break;
      case "chat_held": held(message); break;
      case "chat_removed": {
        const node = document.querySelector(`[data-chat-id="${message.id}"]`);
        if (node) node.remove();
        break;
      }
      case "error": problem(message.problem); break;
      // a lottery created, or drawn: the lottery card (lottery.js) shows it
      case "lottery": document.dispatchEvent(new CustomEvent("lp:lottery", { detail: message.lottery })); break;
    }
  }

  function held(message) {
    const text = LP.format("held_notice", { reason: local(message.reason) });
    $("chat").append(LP.el("li", { class: "system held", "data-testid": "chat-held" },
      text, LP.el("div", { class: "held-text" }, LP.format("quoted", { text: message.text }))));
    $("chat").scrollTop = $("chat").scrollHeight;
    LP.toast(text, true);
  }

  function problem(body) {
    if (!body) return;
    if (body.code === "rate_limited" && body.retry_after !== undefined) {
      const seconds = Math.max(1, Math.ceil(Number(body.retry_after)));
      LP.toast(LP.format("rate_limited_wait", { n: seconds }), true);
      return;
    }
    LP.toast(local(body.detail), true);
  }

  function setSession(session) {
    const wasEnded = state.session && state.session.status === "ended";
    state.session = session;
    for (const item of session.lineup) state.stock[item.id] = item.stock_remaining;
    $("status").textContent = LP.t("room_status_" + session.status);
    $("status").className = `badge badge-${session.status}`;
    room.dataset.status = session.status;
    room.classList.remove("room-scheduled", "room-live", "room-ended");
    room.classList.add(`room-${session.status}`);
    const ended = session.status === "ended";
    $("ended").hidden = !ended;
    $("scheduled").hidden = session.status !== "scheduled";
    $("chat-form").hidden = ended;
    $("chat-area").hidden = ended;
    $("ended-bar").hidden = !ended;
    $("replay-tag").hidden = !(ended && session.playback_url);
    if (ended) {
      $("ended-at").textContent = session.ended_at
        ? LP.format("ended_at", { t: LP.time(session.ended_at) }) : "";
      if (!wasEnded) loadBag();  // what was sold, final
    }
    if (session.status === "scheduled") {
      $("scheduled-text").textContent = LP.format("scheduled_banner",
        { t: LP.time($("scheduled-text").dataset.at) });
    }
    const known = new Set(Object.keys(state.bag).map(Number));
    if (session.lineup.some((item) => !known.has(item.id))) loadBag();
    render();
  }

  function pinned() {
    const session = state.session;
    if (!session || session.pinned_item_id === null || session.status === "ended") return null;
    return session.lineup.find((item) => item.id === session.pinned_item_id) || null;
  }

  function saleState(item) {
    const now = Date.now() + state.serverOffset;
    if (state.session.status === "ended" || now > Date.parse(item.sale_ends_at)) return "ended";
    if (state.session.status !== "live" || now < Date.parse(item.sale_starts_at)) return "upcoming";
    return "open";
  }

  // How many more of this item this buyer may buy (per-buyer limit minus what is held).
  function allowance(item) {
    const extra = state.bag[item.id];
    const bought = extra && extra.bought !== null ? extra.bought : 0;
    return Math.max(0, item.per_buyer_limit - bought);
  }

  // The buy button's word and whether it can be pressed, for any lineup item.
  function buyState(item) {
    const stock = state.stock[item.id];
    const sale = saleState(item);
    if (!loggedIn) return { label: LP.t("login_to_buy"), enabled: sale !== "ended" };
    if (sale === "ended") return { label: LP.t("sale_ended"), enabled: false };
    if (stock <= 0) return { label: LP.t("sold_out"), enabled: false };
    if (allowance(item) <= 0) return { label: LP.t("limit_reached"), enabled: false };
    if (sale === "upcoming") return { label: LP.t("not_started"), enabled: false };
    return { label: null, enabled: true };
  }

  function maxQty(item) {
    return Math.max(1, Math.min(allowance(item), state.stock[item.id] || 0) || 1);
  }

  function clampQty(input, item) {
    const max = maxQty(item);
    input.max = max;
    const value = Math.floor(Number(input.value)) || 1;
    input.value = Math.min(Math.max(1, value), max);
    return Number(input.value);
  }

  function cover(item) {
    const extra = state.bag[item.id];
    return extra && extra.images.length ? extra.images[0] : null;
  }

  function render() {
    renderCard();
    renderBag();
    renderSheet();
  }

  function referenceOf(item) {
    // shown only when above the live price: a reference no higher than the price says nothing
    const ref = item.reference_price;
    if (!ref || ref.amount <= item.live_price) return null;
    return { amount: ref.amount, basis: ref.basis[window.LP_LANG === "en" ? "en" : "zh-CN"] };
  }

  function renderCard() {
    const item = pinned();
    const session = state.session;
    $("card").hidden = !item;
    $("nocard").hidden = Boolean(item) || !session || session.status !== "live";
    if (!item) return;
    $("card-title").textContent = item.product_title;
    $("card-sku").textContent = item.sku_name;
    $("card-price").textContent = LP.yuan(item.live_price);
    $("card-list").textContent = LP.yuan(item.list_price);
    // 划线价 only when it is computed from real payments (docs/promises.md): the lowest price
    // paid in the last 7 days; the shop's list price is a current price, never struck through
    const ref = referenceOf(item);
    $("card-ref").hidden = !ref;
    if (ref) {
      $("card-ref-amount").textContent = LP.yuan(ref.amount);
      $("card-ref-basis").textContent = ref.basis;
    }
    const picture = cover(item);
    $("card-img").hidden = !picture;
    if (picture && $("card-img").getAttribute("src") !== picture.thumb_url) {
      $("card-img").src = picture.thumb_url;
    }
    $("card-stock").textContent = state.stock[item.id];
    $("card-limit").textContent = item.per_buyer_limit;
    const qty = clampQty($("qty"), item);
    const stateNow = buyState(item);
    const buy = $("buy");
    buy.disabled = !stateNow.enabled || state.buying;
    buy.textContent = stateNow.label || LP.t("buy");
    $("qty-less").disabled = !stateNow.enabled || qty <= 1;
    $("qty-more").disabled = !stateNow.enabled || qty >= maxQty(item);
    $("qty").disabled = !stateNow.enabled || !loggedIn;
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
  setInterval(() => { if (state.session && state.session.status !== "ended") renderCard(); }, 1000);

  // --- the product bag (小黄车) ---------------------------------------------------------------

  async function loadBag() {
    try {
      const bag = await LP.api("GET", `/api/v1/sessions/${sessionId}/bag`);
      state.bag = {};
      for (const item of bag.items) state.bag[item.id] = item;
      state.sold = bag.sold;
      render();
      renderSold();
    } catch (error) { /* the bag works without pictures; the next change reloads it */ }
  }

  function renderSold() {
    if (!state.sold) return;
    $("sold-summary").textContent = state.sold.orders
      ? LP.format("sold_summary", { units: state.sold.units, orders: state.sold.orders })
      : LP.t("sold_none");
  }

  function renderBag() {
    const session = state.session;
    if (!session) return;
    const ended = session.status === "ended";
    $("bag-title").textContent = LP.format("bag_title", { n: session.lineup.length });
    $("bag-count").textContent = session.lineup.length;
    const list = $("bag-list");
    // Pinned item first, then the lineup's order (the number is the lineup position).
    const items = session.lineup.map((item, index) => ({ item, index }));
    items.sort((a, b) => (b.item.id === session.pinned_item_id) - (a.item.id === session.pinned_item_id)
      || a.index - b.index);
    list.replaceChildren(...items.map(({ item, index }) => bagRow(item, index + 1, ended)));
    if (!items.length) list.append(LP.el("li", { class: "muted empty" }, LP.t("no_lineup")));
  }

  function bagRow(item, number, ended) {
    const extra = state.bag[item.id];
    const picture = cover(item);
    const stock = state.stock[item.id];
    const isPinned = !ended && item.id === state.session.pinned_item_id;
    const facts = [];
    if (ended) facts.push(LP.format("sold_n", { n: extra ? extra.sold_units : 0 }));
    else {
      facts.push(LP.format("left_n", { n: stock }));
      facts.push(LP.format("limit_n", { n: item.per_buyer_limit }));
      if (loggedIn && extra && extra.bought) facts.push(LP.format("bought_n", { n: extra.bought }));
    }
    let action = null;
    if (!ended) {
      const now = buyState(item);
      action = LP.el("button", {
        type: "button", class: now.enabled ? "primary buy-small" : "buy-small",
        "data-testid": "bag-buy", onclick: () => openSheet(item),
      }, now.label || LP.t("buy_short"));
      if (!now.enabled) action.disabled = true;
    }
    return LP.el("li", { class: isPinned ? "bag-item pinned" : "bag-item", "data-testid": "bag-item",
                         dataset: { itemId: item.id } },
      LP.el("div", { class: "bag-thumb" },
        picture ? LP.el("img", { src: picture.thumb_url, alt: item.product_title, loading: "lazy" })
          : LP.el("span", { class: "thumb-none" }, bagIcon()),
        LP.el("span", { class: "bag-no" }, String(number))),
      LP.el("div", { class: "bag-info" },
        isPinned ? LP.el("span", { class: "tag-explaining" }, LP.t("explaining")) : null,
        LP.el("div", { class: "bag-name" }, item.product_title),
        LP.el("div", { class: "muted" }, item.sku_name),
        LP.el("div", { class: "bag-price" },
          LP.el("span", { class: "live-price" }, "¥" + LP.yuan(item.live_price)),
          referenceOf(item) ? LP.el("s", { class: "muted", title: referenceOf(item).basis },
            "¥" + LP.yuan(referenceOf(item).amount)) : null),
        LP.el("div", { class: "muted bag-facts" }, facts.join(" · "))),
      action);
  }

  function setBagOpen(open) { room.classList.toggle("bag-open", open); }
  $("bag-open").addEventListener("click", () => setBagOpen(true));
  document.querySelectorAll("[data-open-bag]").forEach((b) => b.addEventListener("click", () => setBagOpen(true)));
  $("bag-close").addEventListener("click", () => setBagOpen(false));

  // --- the buy sheet (from the bag) -----------------------------------------------------------

  function openSheet(item) {
    if (!loggedIn) { location.href = `/login?next=/live/${sessionId}`; return; }
    state.sheetItem = item.id;
    $("sheet-qty").value = 1;
    renderSheet();
    if (!$("buy-sheet").open) $("buy-sheet").showModal();
  }

  function sheetItem() {
    if (!state.session || state.sheetItem === null) return null;
    return state.session.lineup.find((item) => item.id === state.sheetItem) || null;
  }

  function renderSheet() {
    const item = sheetItem();
    if (!item) return;
    const picture = cover(item);
    $("sheet-img").hidden = !picture;
    if (picture) $("sheet-img").src = picture.thumb_url;
    $("sheet-title").textContent = item.product_title;
    $("sheet-sku").textContent = item.sku_name;
    $("sheet-price").textContent = LP.yuan(item.live_price);
    const extra = state.bag[item.id];
    const facts = [LP.format("left_n", { n: state.stock[item.id] }),
                   LP.format("limit_n", { n: item.per_buyer_limit })];
    if (extra && extra.bought) facts.push(LP.format("bought_n", { n: extra.bought }));
    $("sheet-facts").textContent = facts.join(" · ");
    const qty = clampQty($("sheet-qty"), item);
    const now = buyState(item);
    $("sheet-buy").disabled = !now.enabled || state.buying;
    $("sheet-buy").textContent = now.label || LP.t("confirm_buy");
    $("sheet-less").disabled = !now.enabled || qty <= 1;
    $("sheet-more").disabled = !now.enabled || qty >= maxQty(item);
  }

  function closeSheet() {
    state.sheetItem = null;
    if ($("buy-sheet").open) $("buy-sheet").close();
  }
  $("sheet-cancel").addEventListener("click", closeSheet);
  $("buy-sheet").addEventListener("close", () => { state.sheetItem = null; });
  $("buy-sheet").addEventListener("click", (event) => {
    if (event.target === $("buy-sheet")) closeSheet();  // a tap on the backdrop
  });

  function stepper(input, less, more, itemOf, after) {
    const step = (delta) => {
      const item = itemOf();
      if (!item) return;
      input.value = Number(input.value) + delta;
      clampQty(input, item);
      after();
    };
    less.addEventListener("click", () => step(-1));
    more.addEventListener("click", () => step(1));
    input.addEventListener("change", () => step(0));
  }
  stepper($("qty"), $("qty-less"), $("qty-more"), pinned, renderCard);
  stepper($("sheet-qty"), $("sheet-less"), $("sheet-more"), sheetItem, renderSheet);

  async function buyItem(item, quantity) {
    // One key per purchase attempt: a retried click after a network error cannot buy twice.
    state.buyKey = state.buyKey || crypto.randomUUID();
    state.buying = true;
    render();
    try {
      const order = await LP.api("POST", `/api/v1/sessions/${sessionId}/lineup/${item.id}/orders`,
        { quantity }, { "Idempotency-Key": state.buyKey });
      state.buyKey = null;
      const extra = state.bag[item.id];
      if (extra && extra.bought !== null) extra.bought += order.quantity;
      state.order = order;
      showOrder(order);
      refreshOrders();
      loadBag();
      return true;
    } catch (error) {
      if (error.status && error.status < 500) state.buyKey = null;
      if (error.problem) problem(error.problem); else LP.toast(error.message, true);
      if (error.status === 409) loadBag();  // our count may have changed elsewhere
      return false;
    } finally {
      state.buying = false;
      render();
    }
  }

  $("buy").addEventListener("click", async () => {
    if (!loggedIn) { location.href = `/login?next=/live/${sessionId}`; return; }
    const item = pinned();
    if (!item) return;
    await buyItem(item, clampQty($("qty"), item));
  });

  $("sheet-buy").addEventListener("click", async () => {
    const item = sheetItem();
    if (!item) return;
    if (await buyItem(item, clampQty($("sheet-qty"), item))) {
      closeSheet();
      setBagOpen(false);
    }
  });

  // --- the order strip: this buyer's orders here, as they change ------------------------------

  function orderLine(order) {
    const title = order.product_title || (order.snapshot && order.snapshot.product_title) || "";
    return `#${order.id} ${title} ×${order.quantity} ¥${LP.yuan(order.amount)} · ${LP.statusText(order.status)}`;
  }

  function showOrder(order) {
    $("order-result").hidden = false;
    $("order-text").textContent = orderLine(order);
    $("pay").hidden = order.status !== "pending_payment";
  }

  function hasOpenOrders() {
    return state.orders.some((o) => !FINAL.has(o.status)) || (state.order && !FINAL.has(state.order.status));
  }

  async function refreshOrders() {
    if (!loggedIn) return;
    try {
      state.orders = await LP.api("GET", `/api/v1/sessions/${sessionId}/my-orders`);
    } catch (error) { return; }
    renderOrders();
    clearTimeout(ordersTimer);
    // A merchant's cancellation of a paid order or an expiry elsewhere: look again now and then
    // while some order of ours can still change.
    if (hasOpenOrders() && state.session && state.session.status !== "ended") {
      ordersTimer = setTimeout(refreshOrders, 15000);
    }
  }

  function renderOrders() {
    if (!state.orders.length) return;
    const [latest, ...earlier] = state.orders;
    const changed = state.order && state.order.id === latest.id && state.order.status !== latest.status;
    state.order = latest;
    showOrder(latest);
    if (changed && latest.status === "cancelled") loadBag();
    $("order-list").replaceChildren(...[latest, ...earlier].slice(0, 5).map((order) => {
      const who = order.cancelled_by ? LP.t("cancelled_by_" + order.cancelled_by) : "";
      const notes = [];
      if (order.status === "cancelled" && who) {
        const words = order.cancel_reason_words && order.cancel_reason_words[window.LP_LANG === "en" ? "en" : "zh-CN"];
        notes.push(words ? LP.format("cancel_line", { who, reason: words }) : who);
      }
      if (order.refunded) notes.push(LP.format("refunded_amount", { amount: LP.yuan(order.refunded) }));
      if (order.compensated) notes.push(LP.format("compensated_amount", { amount: LP.yuan(order.compensated) }));
      return LP.el("li", { class: `order-row status-${order.status}`, "data-testid": "order-row",
                           dataset: { orderId: order.id } },
        LP.el("a", { href: `/orders/${order.id}` }, orderLine(order)),
        notes.length ? LP.el("div", { class: "order-note" }, notes.join(" · ")) : null);
    }));
  }

  // --- notices about this session's orders (refunds, compensation, cancellations), live ------

  const NOTICE_EVERY_MS = 10000;
  let noticeIds = [];
  async function refreshNotices() {
    if (!loggedIn || document.hidden) return;
    let inbox;
    try {
      inbox = await LP.api("GET", `/api/v1/me/notices?session_id=${sessionId}&unread_only=true&limit=3`);
    } catch (error) { return; }
    const lang = window.LP_LANG === "en" ? "en" : "zh-CN";
    noticeIds = inbox.notices.map((n) => n.id);
    $("room-notices").hidden = !noticeIds.length;
    $("room-notice-list").replaceChildren(...inbox.notices.map((n) => LP.el("li", { "data-kind": n.kind },
      LP.el("b", {}, n.title[lang]), " ", n.body[lang])));
  }
  $("room-notices-ok").addEventListener("click", async () => {
    try {
      await LP.api("POST", "/api/v1/me/notices/read", { ids: noticeIds });
      $("room-notices").hidden = true;
    } catch (error) { LP.toast(error.message, true); }
  });
  if (loggedIn) {
    refreshNotices();
    setInterval(refreshNotices, NOTICE_EVERY_MS);
    document.addEventListener("visibilitychange", refreshNotices);
  }

  $("pay").addEventListener("click", () => {
    // Checkout: choose the address, see the amount and the deadline, then pay.
    location.href = `/checkout/${state.order.id}`;
  });

  // --- chat and likes ---------------------------------------------------------------------------

  function addChat(chat) {
    if (state.chatIds.has(chat.id)) return;
    state.chatIds.add(chat.id);
    const list = $("chat");
    // A fan's level in this shop's fan club (粉丝团), as the server stamped it on the message.
    const badge = chat.fan ? LP.el("span", { class: "fan-level", "data-testid": "chat-fan-level" },
      LP.format("fan_level", { name: chat.fan.name, level: chat.fan.level })) : null;
    list.append(LP.el("li", { dataset: { chatId: chat.id } }, badge,
      LP.el("b", {}, chat.user + LP.t("chat_sep")), chat.text));
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

  loadBag();
  refreshOrders();
  connect();
});
