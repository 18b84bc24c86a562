// The platform operators' page: rule on an escalated case, with a reason (final; the server
// records it on the case's timeline, docs/aftersales.md). Times are shown in Asia/Shanghai.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const node of document.querySelectorAll("time[data-local]")) node.textContent = LP.time(node.getAttribute("datetime"));
  for (const form of document.querySelectorAll("form.ruling-form")) {
    form.addEventListener("input", () => { form.querySelector(".field-error").textContent = ""; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".field-error");
      error.textContent = "";
      const caseId = form.dataset.caseId;
      const decision = form.querySelector(`input[name="decision-${caseId}"]:checked`).value;
      const text = form.elements.text.value.trim();
      if (text.length < 4) { error.textContent = LP.t("operator_need_reason"); return; }
      const body = { decision, text };
      if (decision === "buyer" && form.elements.amount.value !== "") {
        const fen = LP.toFen(form.elements.amount.value);
        const asked = Number(form.closest("section").dataset.amount);
        if (!(fen >= 1 && fen <= asked)) { error.textContent = LP.format("case_amount_help", { max: LP.yuan(asked) }); return; }
        body.amount = fen;
      }
      if (!(await LP.confirm(LP.t("operator_confirm")))) return;
      try {
        await LP.api("POST", `/api/v1/cases/${caseId}/ruling`, body);
        LP.toast(LP.t("operator_ruled"));
        location.reload();
      } catch (failure) { error.textContent = failure.message; }
    });
  }
});
