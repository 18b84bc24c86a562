import { describe, expect, it } from "vitest";
import { enumValues, lang, word } from "../i18n";

describe("webhook words", () => {
  it("names every webhook type the server offers, in both languages", () => {
    // webhooks/rules.py CATALOGUE
    expect(enumValues("webhook_type")).toEqual(["order.paid", "order.shipped", "order.received", "order.cancelled",
      "order.refunded", "case.opened", "case.decided", "lottery.drawn", "fan.joined", "coupon.claimed",
      "campaign.sent"]);
    expect(enumValues("delivery_status")).toEqual(["pending", "delivered", "expired"]);
    for (const kind of ["webhook_type", "delivery_status"]) {
      for (const value of enumValues(kind)) {
        for (const l of ["zh-CN", "en"] as const) {
          lang.value = l;
          const w = word(kind, value);
          expect(w).not.toContain("—");
          if (l === "en") expect(w).not.toMatch(/[\u4e00-\u9fff]/);
          else expect(w).toMatch(/[\u4e00-\u9fff]/);
        }
      }
    }
    lang.value = "zh-CN";
  });
});
