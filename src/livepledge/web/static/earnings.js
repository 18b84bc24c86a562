// An anchor's or agency's earnings page: pay out what the platform owes them
// (POST /api/v1/me/payouts, docs/money.md "Anchors and agencies"). One Idempotency-Key per page
// view, so a double click or a retry after a lost answer pays once.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("payout-form");
  if (!form) return;
  const payable = Number(document.querySelector("[data-testid=payable-now]").dataset.fen);
  const error = form.querySelector(".field-error");
  const key = crypto.randomUUID();
  form.addEventListener("input", () => { error.textContent = ""; });
  form.querySelector("[data-testid=payout-all]").addEventListener("click", () => {
    form.elements.amount.value = LP.yuan(payable);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.amount.value.trim();
    const fen = /^\d+(\.\d{1,2})?$/.test(text) ? LP.toFen(text) : NaN;
    if (!(fen >= 1 && fen <= payable)) { error.textContent = LP.t("earnings_payout_bad"); return; }
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    try {
      await LP.api("POST", "/api/v1/me/payouts", { amount: fen }, { "Idempotency-Key": key });
      LP.toast(LP.t("earnings_payout_done"));
      location.reload();
    } catch (failure) {
      error.textContent = failure.message;
      button.disabled = false;
    }
  });
});
