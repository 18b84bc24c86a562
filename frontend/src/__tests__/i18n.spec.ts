import { describe, expect, it } from "vitest";
import { CATEGORIES, ORDER_STATUSES, enumValues, lang, t, word } from "../i18n";

describe("words", () => {
  it("speaks Chinese first and English when asked", () => {
    lang.value = "zh-CN";
    expect(t("orders")).toBe("订单");
    expect(word("order_status", "paid")).toBe("待发货");
    lang.value = "en";
    expect(t("orders")).toBe("Orders");
    expect(word("order_status", "paid")).toBe("To ship");
    lang.value = "zh-CN";
  });
  it("has words for every enum value the API returns, in both languages", () => {
    // the server's lists (orders/api.py STATUSES, catalog/rules.py CATEGORIES, live/rules.py)
    expect(new Set(ORDER_STATUSES)).toEqual(new Set(["pending_payment", "paid", "shipped", "received", "cancelled", "expired"]));
    expect(new Set(CATEGORIES)).toEqual(new Set(["general", "apparel", "cosmetics", "food", "health_food",
      "infant_formula", "appliance", "digital", "jewelry", "home", "medical_device"]));
    expect(enumValues("sale_state")).toEqual(["upcoming", "open", "ended"]);
    expect(enumValues("session_status")).toEqual(["scheduled", "live", "ended"]);
    // orders/rules.py CANCEL_CODES
    expect(enumValues("cancel_reason")).toEqual(["out_of_stock", "buyer_asked", "address_unreachable", "suspected_fraud", "other"]);
    for (const kind of ["order_status", "product_status", "session_status", "sale_state", "category", "severity", "cancel_reason"]) {
      for (const value of enumValues(kind)) {
        for (const l of ["zh-CN", "en"] as const) {
          lang.value = l;
          const w = word(kind, value);
          expect(w).not.toBe(value);
          expect(w).not.toContain("—");
          if (l === "en") expect(w).not.toMatch(/[\u4e00-\u9fff]/);
        }
      }
    }
    lang.value = "zh-CN";
  });
  it("never shows an unknown value as if it were a word", () => {
    expect(word("order_status", "teleported")).toBe("— (teleported)");
    expect(word("order_status", null)).toBe("—");
  });
});
