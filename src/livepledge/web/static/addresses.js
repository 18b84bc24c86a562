"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("address-book");
  const formBox = document.getElementById("address-form-box");
  const closeForm = () => { formBox.replaceChildren(); formBox.hidden = true; };
  const openForm = (existing) => {
    formBox.replaceChildren(Addresses.form(existing, () => { closeForm(); load(); }, closeForm));
    formBox.hidden = false;
    formBox.querySelector("input").focus();
  };
  const button = (label, onclick) => LP.el("button", { type: "button", class: "link", onclick }, label);
  const act = (call) => async () => {
    try { await call(); load(); } catch (error) { LP.toast(error.message, true); }
  };
  const load = async () => {
    const book = await Addresses.list();
    box.replaceChildren();
    if (!book.length) box.append(LP.el("p", { class: "muted" }, LP.t("no_addresses")));
    for (const address of book) {
      const actions = [button(LP.t("edit"), () => openForm(address))];
      if (!address.is_default) {
        actions.push(button(LP.t("set_default"), act(() =>
          LP.api("POST", `/api/v1/me/addresses/${address.id}/default`))));
      }
      actions.push(button(LP.t("remove"), act(async () => {
        if (await LP.confirm(LP.t("confirm_remove_address"))) {
          await LP.api("DELETE", `/api/v1/me/addresses/${address.id}`);
        }
      })));
      box.append(Addresses.card(address, ...actions));
    }
  };
  document.getElementById("add-address").addEventListener("click", () => openForm(null));
  load();
});
