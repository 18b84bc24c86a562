import { describe, expect, it } from "vitest";
import { basisPoints, countdown, roiText, shopDay, shopTime, toFen, yuan } from "../format";

describe("money", () => {
  it("shows fen as yuan with two decimals and thousands separators", () => {
    expect(yuan(12900)).toBe("¥129.00");
    expect(yuan(5)).toBe("¥0.05");
    expect(yuan(123456789)).toBe("¥1,234,567.89");
    expect(yuan(-250)).toBe("-¥2.50");
    expect(yuan(null)).toBe("");
  });
  it("reads yuan typed by a merchant into fen exactly (no float rounding)", () => {
    expect(toFen("129")).toBe(12900);
    expect(toFen("0.1")).toBe(10);
    expect(toFen("19.99")).toBe(1999);
    expect(toFen(" 1.05 ")).toBe(105);
    expect(toFen(4.35)).toBe(435); // 4.35 * 100 is 434.99999… as a float
  });
  it("refuses what is not an amount", () => {
    for (const bad of ["", "abc", "1.234", "-1", "1e3", "1,000", null, undefined]) {
      expect(toFen(bad as string)).toBeNull();
    }
  });
  it("round-trips every amount of fen", () => {
    for (let fen = 0; fen < 20000; fen += 7) {
      expect(toFen(yuan(fen).replace("¥", "").replace(/,/g, ""))).toBe(fen);
    }
  });
});

describe("time", () => {
  it("shows UTC instants in the shop's zone (Asia/Shanghai, UTC+8)", () => {
    expect(shopTime("2026-12-05T16:30:00+00:00")).toBe("2026/12/06 00:30");
    expect(shopTime("2026-12-05T16:30:00Z", "en")).toBe("06/12/2026, 00:30");
    expect(shopTime(null)).toBe("");
    expect(shopTime("not a time")).toBe("");
  });
  it("gives the shop's calendar day, not the UTC one", () => {
    expect(shopDay(new Date("2026-12-05T16:30:00Z"))).toBe("2026-12-06");
    expect(shopDay(new Date("2026-12-05T15:59:00Z"))).toBe("2026-12-05");
  });
});

describe("countdown", () => {
  it("says overdue at or after the deadline", () => {
    expect(countdown(0)).toBe("已超时");
    expect(countdown(-5_000, "en")).toBe("overdue");
  });
  it("rounds minutes up so a running clock never shows 0 before the deadline", () => {
    expect(countdown(1)).toBe("剩 1 分钟");
    expect(countdown(59 * 60_000 + 1, "en")).toBe("1 h 0 min left");
  });
  it("shows days and hours for long deadlines", () => {
    expect(countdown((2 * 1440 + 3 * 60 + 10) * 60_000)).toBe("剩 2 天 3 小时");
    expect(countdown((47 * 60 + 59) * 60_000, "en")).toBe("1 d 23 h left");
  });
});

describe("rates and ROI", () => {
  it("turns a percentage into basis points", () => {
    expect(basisPoints(10)).toBe(1000);
    expect(basisPoints(2.5)).toBe(250);
    expect(basisPoints(0)).toBe(0);
    expect(basisPoints(100)).toBe(10000);
    expect(basisPoints(12.345)).toBe(1235);
  });
  it("states an ROI rounded down to two decimals, as the platform computes it", () => {
    expect(roiText(9900)).toBe("0.99×");
    expect(roiText(33000)).toBe("3.30×");
    expect(roiText(12399)).toBe("1.23×");
    expect(roiText(0)).toBe("0.00×");
  });
});
