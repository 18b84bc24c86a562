import { describe, expect, it } from "vitest";
import { lineTarget, monthBounds, monthLabel, newKey, quarterLabel, recentPeriods, shanghaiMonth, signed } from "../money";

describe("periods in the shop's zone", () => {
  it("takes the month of Asia/Shanghai, not of UTC", () => {
    expect(shanghaiMonth(new Date("2026-11-30T15:59:59Z"))).toEqual({ year: 2026, month: 11 });
    expect(shanghaiMonth(new Date("2026-11-30T16:00:00Z"))).toEqual({ year: 2026, month: 12 });
    expect(shanghaiMonth(new Date("2026-12-31T16:00:00Z"))).toEqual({ year: 2027, month: 1 });
  });
  it("labels months and quarters as the API wants them, across years", () => {
    expect(monthLabel(2026, 11)).toBe("2026-11");
    expect(monthLabel(2026, 0)).toBe("2025-12");
    expect(monthLabel(2026, -11)).toBe("2025-01");
    expect(monthLabel(2026, 13)).toBe("2027-01");
    expect(quarterLabel(2026, 12)).toBe("2026Q4");
    expect(quarterLabel(2026, 1)).toBe("2026Q1");
    expect(quarterLabel(2026, -2)).toBe("2025Q4"); // month -2 is 2025-10
  });
  it("offers the recent months and quarters, newest first", () => {
    const got = recentPeriods(new Date("2026-12-05T12:00:00Z"), 3, 3);
    expect(got.months).toEqual(["2026-12", "2026-11", "2026-10"]);
    expect(got.quarters).toEqual(["2026Q4", "2026Q3", "2026Q2"]);
  });
  it("gives a month's statement bounds in UTC", () => {
    expect(monthBounds("2026-11")).toEqual({ start: "2026-10-31T16:00:00.000Z", end: "2026-11-30T16:00:00.000Z" });
    expect(monthBounds("2026-12")?.end).toBe("2026-12-31T16:00:00.000Z");
    for (const bad of ["2026-13", "2026-00", "2026Q4", "", "26-1"]) expect(monthBounds(bad)).toBeNull();
  });
});

describe("statement lines", () => {
  it("point at their order first, else their case, payout or top-up", () => {
    expect(lineTarget({ order_id: 7, case_id: 3 })).toEqual({ kind: "order", id: 7, href: "/orders/7" });
    expect(lineTarget({ order_id: null, case_id: 3 })).toEqual({ kind: "case", id: 3, href: "/cases/3" });
    expect(lineTarget({ payout_id: 2 })).toEqual({ kind: "payout", id: 2, href: null });
    expect(lineTarget({ top_up_id: 4 })).toEqual({ kind: "top_up", id: 4, href: null });
    expect(lineTarget({})).toBeNull();
  });
  it("shows money to the shop with a plus sign", () => {
    expect(signed("¥1.00", 100)).toBe("+¥1.00");
    expect(signed("-¥1.00", -100)).toBe("-¥1.00");
    expect(signed("¥0.00", 0)).toBe("¥0.00");
  });
});

describe("idempotency keys", () => {
  it("are visible ASCII, at most 128 characters, and differ each time", () => {
    const a = newKey("payout");
    const b = newKey("payout");
    expect(a).toMatch(/^payout-[0-9a-z]+-[0-9a-f]{16}$/);
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).not.toBe(b);
  });
});
