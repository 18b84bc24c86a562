// The live room's fan-club strip (粉丝团): join the shop's club, see one's level, affinity and
// points, and check in (打卡) once a day. Read from the API; the room works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const room = document.getElementById("room");
  if (!room || !room.dataset.shopId) return;
  const shopId = Number(room.dataset.shopId);
  const sessionId = Number(room.dataset.sessionId);
  const loggedIn = room.dataset.loggedIn === "true";
  const $ = (id) => document.getElementById(id);
  const base = `/api/v1/shops/${shopId}/fan-club`;

  const local = LP.local;

  function show(club) {
    const me = club.me;
    $("fanclub").hidden = false;
    $("fan-join").hidden = Boolean(me);
    $("fan-badge").hidden = !me;
    $("fan-checkin").hidden = !me;
    if (!me) {
      $("fan-stat").textContent = LP.format("fan_members", { n: club.members });
      return;
    }
    $("fan-badge").textContent = LP.format("fan_level", { name: me.level_name, level: me.level });
    $("fan-stat").textContent = LP.format("fan_stat", { affinity: me.affinity, points: me.points });
    $("fan-checkin").disabled = me.checked_in_today;
    $("fan-checkin").textContent = LP.t(me.checked_in_today ? "fan_checked_in" : "fan_checkin");
  }

  async function load() {
    try { show(await LP.api("GET", base)); } catch (error) { /* optional */ }
  }

  function toLogin() { location.href = `/login?next=/live/${sessionId}`; }

  $("fan-join").addEventListener("click", async () => {
    if (!loggedIn) { toLogin(); return; }
    try {
      show(await LP.api("PUT", `${base}/membership`));
      LP.toast(LP.t("fan_joined"));
    } catch (error) { LP.toast(local(error.message), true); }
  });

  $("fan-checkin").addEventListener("click", async () => {
    try {
      const result = await LP.api("POST", `${base}/checkin`);
      show(result);
      LP.toast(LP.format("fan_checkin_done", result.checkin));
    } catch (error) {
      LP.toast(local(error.message), true);
      load();
    }
  });

  load();
});
