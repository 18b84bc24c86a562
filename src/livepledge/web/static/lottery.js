// The live room's lottery card (福袋): the newest lottery of the session, its countdown,
// conditions, the entry button, and the result. Loaded from the API (with this viewer's own
// entry), and again when the room announces a lottery created or drawn.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const room = document.getElementById("room");
  if (!room) return;
  const sessionId = Number(room.dataset.sessionId);
  const loggedIn = room.dataset.loggedIn === "true";
  const $ = (id) => document.getElementById(id);
  let lottery = null;
  let timer = null;
  let reloads = 0;

  const local = LP.local;

  function span(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
  }

  async function load() {
    try {
      const list = await LP.api("GET", `/api/v1/sessions/${sessionId}/lotteries`);
      show(list[0] || null);
    } catch (error) { /* the room works without its lottery card */ }
  }

  function later(ms) {
    // the draw runs at the window's end (a durable deadline): look again until it has
    if (reloads++ < 30) setTimeout(load, ms);
  }

  function tick() {
    if (!lottery) return;
    const now = Date.now();
    const opens = Date.parse(lottery.opens_at), closes = Date.parse(lottery.closes_at);
    let state = lottery.state;
    if (state !== "drawn") state = now < opens ? "upcoming" : now < closes ? "open" : "closing";
    const when = $("lottery-when");
    if (state === "upcoming") when.textContent = LP.format("lottery_opens_in", { t: span(opens - now) });
    else if (state === "open") when.textContent = LP.format("lottery_closes_in", { t: span(closes - now) });
    else if (state === "closing") when.textContent = LP.t("lottery_drawing");
    else when.textContent = LP.t("lottery_drawn");
    $("lottery").dataset.state = state;
    const mine = lottery.my_entry;
    $("lottery-enter").hidden = state !== "open" || Boolean(mine);
    if (state === "closing" && lottery.state !== "closing") { lottery.state = "closing"; later(1500); }
  }

  function result() {
    const box = $("lottery-result");
    const mine = lottery.my_entry;
    box.replaceChildren();
    box.className = "lottery-result";
    if (lottery.state === "drawn") {
      if (mine && mine.won) {
        box.classList.add("won");
        box.append(LP.el("strong", { "data-testid": "lottery-won" }, LP.t("lottery_won")), " ");
        if (mine.prize_order_id) {
          box.append(LP.el("a", { class: "button primary", href: `/orders/${mine.prize_order_id}`,
                                  "data-testid": "lottery-prize-order" }, LP.t("lottery_prize_order")));
        } else {
          box.append(LP.el("span", { class: "muted" }, LP.t("lottery_prize_pending")));
          later(1500);
        }
      } else if (mine) {
        box.append(LP.el("span", { "data-testid": "lottery-lost" }, LP.t("lottery_lost")));
      } else {
        box.append(LP.el("span", { class: "muted" }, LP.t("lottery_no_entry")));
      }
    } else if (mine) {
      box.append(LP.el("span", { "data-testid": "lottery-entered" },
        LP.format("lottery_entered", { code: mine.entrant_hash.slice(0, 8) })));
    } else if (!loggedIn) {
      box.append(LP.el("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, LP.t("lottery_login")));
    } else {
      box.append(LP.el("span", { class: "muted" }, LP.t("lottery_fair")));
    }
  }

  function show(next) {
    if (!next) { $("lottery").hidden = true; return; }
    lottery = next;
    $("lottery").hidden = false;
    $("lottery").dataset.lotteryId = String(lottery.id);
    $("lottery-title").textContent = lottery.title;
    const prize = lottery.prize;
    const name = prize.product_title.includes(prize.sku_name) ? prize.product_title
      : `${prize.product_title} ${prize.sku_name}`;
    $("lottery-prize").textContent = LP.format("lottery_prize", { prize: name, n: prize.quantity });
    $("lottery-winners").textContent = LP.format("lottery_winners", { n: lottery.winners_count });
    $("lottery-entries").textContent = LP.format("lottery_entries", { n: lottery.entry_count });
    const labels = lottery.condition_labels.map((c) => c[window.LP_LANG === "en" ? "en" : "zh-CN"]);
    $("lottery-conditions").textContent = labels.length ? labels.join(window.LP_LANG === "en" ? "; " : "；")
      : LP.t("lottery_no_conditions");
    const mine = lottery.my_entry;
    $("lottery-verify").href = `/lotteries/${lottery.id}/verify` + (mine ? `?entrant=${mine.entrant_hash}` : "");
    result();
    tick();
    clearInterval(timer);
    timer = setInterval(tick, 1000);
  }

  $("lottery-enter").addEventListener("click", async () => {
    if (!loggedIn) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
    $("lottery-enter").disabled = true;
    try {
      show(await LP.api("POST", `/api/v1/lotteries/${lottery.id}/entries`));
    } catch (error) {
      LP.toast(local(error.message), true);
      if (error.status === 409) load();
    } finally { $("lottery-enter").disabled = false; }
  });

  // The room's announcement is public (no entry of ours in it): read ours again.
  document.addEventListener("lp:lottery", () => { reloads = 0; load(); });
  load();
});
