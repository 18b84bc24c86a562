// The address book and its form, shared by the addresses page and the checkout page.
"use strict";

const Addresses = {
  PROVINCES: ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省",
    "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省",
    "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区", "台湾省"],
  FIELDS: ["recipient", "phone", "province", "city", "district", "detail"],

  list() { return LP.api("GET", "/api/v1/me/addresses"); },

  // A form for a new address (or editing `existing`); calls onSaved(address) once stored.
  form(existing, onSaved, onCancel) {
    const inputs = {};
    const errors = {};
    const field = (name, control) => {
      inputs[name] = control;
      errors[name] = LP.el("span", { class: "field-error", "data-field": name });
      return LP.el("label", {}, LP.t(name), control, errors[name]);
    };
    const text = (name, attrs) => LP.el("input", Object.assign(
      { name, value: existing ? existing[name] : "" }, attrs || {}));
    const province = LP.el("select", { name: "province" },
      LP.el("option", { value: "" }, LP.t("choose_province")),
      ...Addresses.PROVINCES.map((p) => LP.el("option", { value: p }, p)));
    if (existing) province.value = existing.province;
    const isDefault = LP.el("input", { type: "checkbox", name: "is_default" });
    if (existing && existing.is_default) isDefault.checked = true;
    const form = LP.el("form", { class: "address-form", "data-testid": "address-form" },
      LP.el("div", { class: "grid" },
        field("recipient", text("recipient", { maxlength: "20", autocomplete: "name", required: "" })),
        field("phone", text("phone", { maxlength: "24", inputmode: "tel", autocomplete: "tel", required: "" })),
        field("province", province),
        field("city", text("city", { maxlength: "40", required: "" })),
        field("district", text("district", { maxlength: "40", required: "" }))),
      field("detail", text("detail", { maxlength: "120", autocomplete: "street-address", required: "" })),
      LP.el("label", { class: "check" }, isDefault, LP.t("set_default")),
      LP.el("div", { class: "actions" },
        onCancel ? LP.el("button", { type: "button", class: "link", onclick: onCancel }, LP.t("no")) : null,
        LP.el("button", { type: "submit", class: "primary" }, LP.t("save"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const name of Addresses.FIELDS) errors[name].textContent = "";
      const body = { is_default: isDefault.checked };
      for (const name of Addresses.FIELDS) body[name] = inputs[name].value.trim();
      try {
        const saved = existing
          ? await LP.api("PUT", `/api/v1/me/addresses/${existing.id}`, body)
          : await LP.api("POST", "/api/v1/me/addresses", body);
        LP.toastClear();  // an earlier refusal's message no longer applies
        onSaved(saved);
      } catch (error) {
        const listed = (error.problem && error.problem.errors) || [];
        for (const item of listed) {
          if (errors[item.field]) errors[item.field].textContent = item.message;
        }
        LP.toast(error.message, true);
      }
    });
    return form;
  },

  // One address as a card; `actions` are buttons to put on it.
  card(address, ...actions) {
    return LP.el("div", { class: "address-card", "data-testid": "address", "data-id": address.id },
      LP.el("div", { class: "who" }, LP.el("b", {}, address.recipient), " ", address.phone,
        address.is_default ? LP.el("span", { class: "badge" }, LP.t("default")) : null),
      LP.el("div", { class: "where" }, LP.addressLine(address)),
      actions.length ? LP.el("div", { class: "actions" }, ...actions) : null);
  },
};
