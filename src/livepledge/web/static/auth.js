"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const bind = (formId, errorId, path, after) => {
    const form = document.getElementById(formId);
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = Object.fromEntries(new FormData(form).entries());
      try {
        await LP.api("POST", path, body);
        after(form);
      } catch (error) {
        document.getElementById(errorId).textContent = error.message;
      }
    });
  };
  bind("login-form", "login-error", "/web/login", (form) => {
    location.href = LP.sameOriginPath(form.dataset.next);
  });
  bind("register-form", "register-error", "/web/register", (form) => {
    const role = form.elements.role.value;
    location.href = role === "buyer" ? "/" : "/console";
  });
});
