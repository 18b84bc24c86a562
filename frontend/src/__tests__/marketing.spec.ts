import { afterEach, describe, expect, it, vi } from "vitest";
import { flushPromises, mount } from "@vue/test-utils";
import ElementPlus from "element-plus";
import MarketingView from "../views/MarketingView.vue";
import { store } from "../shop";
import { enumValues, lang, word } from "../i18n";
import { blankCampaign, blankCoupon, campaignBody, campaignErrors, couponBody, couponErrors, couponTerms } from "../marketing";

const NOW = new Date("2026-12-06T02:00:00Z");
const WINDOW: [Date, Date] = [new Date("2026-12-06T02:00:00Z"), new Date("2026-12-13T02:00:00Z")];

afterEach(() => { vi.unstubAllGlobals(); });

describe("the coupon form", () => {
  it("refuses what the server refuses, field by field", () => {
    const f = { ...blankCoupon(), title: " ", budget: 0, per_buyer_limit: 0, threshold: "100", amount_off: "100", window: null };
    expect(couponErrors(f, NOW)).toEqual({ title: "coupon_err_title", budget: "coupon_err_budget",
      per_buyer_limit: "coupon_err_limit", amount_off: "coupon_err_over", window: "coupon_err_window" });
    expect(couponErrors({ ...blankCoupon(), title: "x", kind: "percent", percent_off: 100, window: WINDOW }, NOW))
      .toEqual({ percent_off: "coupon_err_percent" });
    expect(couponErrors({ ...blankCoupon(), title: "x", threshold: "1.234", amount_off: "1", window: WINDOW }, NOW))
      .toEqual({ threshold: "coupon_err_amount" });
    const ended: [Date, Date] = [new Date("2026-12-01T00:00:00Z"), new Date("2026-12-02T00:00:00Z")];
    expect(couponErrors({ ...blankCoupon(), title: "x", threshold: "100", amount_off: "10", window: ended }, NOW))
      .toEqual({ window: "coupon_err_window" });
    expect(couponErrors({ ...blankCoupon(), title: "x", threshold: "100", amount_off: "10", window: WINDOW, points_price: 0.5 }, NOW))
      .toEqual({ points_price: "coupon_err_points" });
  });
  it("sends fen, ISO times and only the targeting given", () => {
    const f = { ...blankCoupon(), title: " 满100减10 ", threshold: "100", amount_off: "10.5", window: WINDOW, min_fan_level: 2 };
    expect(couponErrors(f, NOW)).toEqual({});
    expect(couponBody(f)).toEqual({ title: "满100减10", kind: "threshold", threshold: 10000, amount_off: 1050, budget: 100,
      per_buyer_limit: 1, claim_starts_at: "2026-12-06T02:00:00.000Z", claim_ends_at: "2026-12-13T02:00:00.000Z",
      valid_days: 7, min_fan_level: 2 });
  });
  it("words the terms in both languages", () => {
    const c = { kind: "threshold", threshold: 10000, amount_off: 1000, percent_off: null, cap: null };
    expect(couponTerms(c, false)).toBe("满 ¥100.00 减 ¥10.00");
    expect(couponTerms(c, true)).toBe("¥10.00 off ¥100.00+");
    expect(couponTerms({ kind: "percent", threshold: 0, amount_off: null, percent_off: 10, cap: 2000 }, false)).toBe("9 折，最多减 ¥20.00");
    for (const kind of ["coupon_kind", "coupon_status", "campaign_status", "post_kind"]) {
      for (const value of enumValues(kind)) {
        lang.value = "en";
        expect(word(kind, value)).not.toMatch(/[\u4e00-\u9fff—]/);
        lang.value = "zh-CN";
        expect(word(kind, value)).toMatch(/[\u4e00-\u9fff]/);
      }
    }
  });
});

describe("the campaign form", () => {
  it("needs a segment, text, and a time or a session", () => {
    expect(campaignErrors(blankCampaign(), NOW)).toEqual({ segment_id: "campaign_err_segment", title: "campaign_err_text" });
    const later = { ...blankCampaign(), segment_id: 3, title: "上新", body: "今晚 8 点", when: "at" as const, send_at: new Date("2026-12-05T00:00:00Z") };
    expect(campaignErrors(later, NOW)).toEqual({ send_at: "campaign_err_time" });
    expect(campaignErrors({ ...later, when: "live", send_at: null }, NOW)).toEqual({ on_session_id: "campaign_err_session" });
    expect(campaignBody({ ...later, when: "live", on_session_id: 9, coupon_id: 4 })).toEqual(
      { segment_id: 3, title: "上新", body: "今晚 8 点", coupon_id: 4, on_session_id: 9 });
  });
});

const COUPON = { id: 7, title: "满100减10", kind: "threshold", threshold: 10000, amount_off: 1000, percent_off: null, cap: null,
  budget: 50, remaining: 38, issued: 12, used: 5, per_buyer_limit: 1, status: "active", claim_starts_at: "2026-12-06T02:00:00Z",
  claim_ends_at: "2026-12-13T02:00:00Z", session_id: null, min_fan_level: 2, segment_id: null, points_price: null };
const CAMPAIGN = { id: 3, title: "新茶到货", body: "今晚开播", status: "sent", segment_id: 1, coupon_id: 7, send_at: "2026-12-06T02:00:00Z",
  on_session_id: null, sent_at: "2026-12-06T02:00:05Z", audience: 40, skipped_opted_out: 1, skipped_capped: 2,
  results: { delivered: 37, opened: 20, coupon_claimed: 9, orders: 4, net_sales: 39600 } };

describe("the marketing page", () => {
  it("lists coupons with claimed / used / budget, stops one, and shows a campaign's report", async () => {
    store.shop = { id: 5, name: "店", legal_name: "店", license_no: "x" };
    const calls: string[] = [];
    vi.stubGlobal("matchMedia", () => ({ matches: false, addEventListener() {} }));
    vi.stubGlobal("fetch", vi.fn(async (path: string, init: RequestInit) => {
      calls.push(`${init.method} ${path}${init.body ? " " + init.body : ""}`);
      const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
      if (path.endsWith("/coupons")) return json([COUPON]);
      if (path.endsWith("/segments")) return json({ buyers: 40, segments: [{ id: 1, name: "铁粉", count: 40 }] });
      if (path.endsWith("/sessions")) return json([]);
      if (path.endsWith("/campaigns")) return json([CAMPAIGN]);
      if (path.includes("/feed")) return json({ posts: [] });
      return json({ ...COUPON, status: "ended" });
    }));
    const wrapper = mount(MarketingView, { global: { plugins: [ElementPlus] }, attachTo: document.body });
    await flushPromises();
    expect(wrapper.find("[data-testid=coupon-counts]").text()).toBe("12 / 5 / 50");
    expect(wrapper.text()).toContain("满 ¥100.00 减 ¥10.00");
    expect(wrapper.text()).toContain("Lv2+");
    expect(wrapper.text()).toContain("发放中");
    expect(wrapper.find("[data-testid=report-delivered]").text()).toBe("37");
    expect(wrapper.find("[data-testid=report-orders]").text()).toBe("4");
    expect(wrapper.find("[data-testid=report-sales]").text()).toBe("¥396.00");
    expect(wrapper.text()).toContain("铁粉");
    await wrapper.find("[data-testid=coupon-stop]").trigger("click");
    await flushPromises();
    (document.querySelector(".el-message-box__btns .el-button--primary") as HTMLElement).click();
    await flushPromises();
    expect(calls).toContain('POST /api/v1/coupons/7/status {"action":"end"}');
    wrapper.unmount();
  });
});
