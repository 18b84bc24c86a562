// The coupon and campaign forms of 营销: checks before sending (the server checks again and its
// 422 field errors are shown the same way) and the request bodies. Pure, unit-tested.
import { toFen, yuan } from "./format";

export interface CouponForm {
  title: string; kind: "threshold" | "percent" | "no_threshold";
  threshold: string; amount_off: string; percent_off: number | null; cap: string;
  budget: number | null; per_buyer_limit: number | null;
  window: [Date, Date] | null; valid_days: number | null;
  session_id: number | null; min_fan_level: number | null; segment_id: number | null;
  points_price: number | null;
}

export function blankCoupon(): CouponForm {
  return { title: "", kind: "threshold", threshold: "", amount_off: "", percent_off: null, cap: "",
    budget: 100, per_buyer_limit: 1, window: null, valid_days: 7, session_id: null,
    min_fan_level: null, segment_id: null, points_price: null };
}

const whole = (n: number | null, min: number, max: number) =>
  n !== null && Number.isInteger(n) && n >= min && n <= max;

/** Field → message key; empty when the form may be sent. */
export function couponErrors(f: CouponForm, now: Date): Record<string, string> {
  const e: Record<string, string> = {};
  if (!f.title.trim()) e.title = "coupon_err_title";
  if (!whole(f.budget, 1, 2 ** 31 - 1)) e.budget = "coupon_err_budget";
  if (!whole(f.per_buyer_limit, 1, 2 ** 31 - 1)) e.per_buyer_limit = "coupon_err_limit";
  if (f.kind === "threshold") {
    const threshold = toFen(f.threshold);
    const off = toFen(f.amount_off);
    if (threshold === null) e.threshold = "coupon_err_amount";
    if (off === null || off <= 0) e.amount_off = "coupon_err_amount";
    else if (threshold !== null && off >= threshold) e.amount_off = "coupon_err_over";
  } else if (f.kind === "percent") {
    if (!whole(f.percent_off, 1, 99)) e.percent_off = "coupon_err_percent";
    if (f.threshold.trim() && toFen(f.threshold) === null) e.threshold = "coupon_err_amount";
    if (f.cap.trim() && (toFen(f.cap) ?? 0) <= 0) e.cap = "coupon_err_amount";
  } else {
    const off = toFen(f.amount_off);
    if (off === null || off <= 0) e.amount_off = "coupon_err_amount";
  }
  if (!f.window || f.window[1] <= f.window[0] || f.window[1] <= now) e.window = "coupon_err_window";
  if (!whole(f.valid_days, 1, 365)) e.valid_days = "coupon_err_days";
  if (f.points_price !== null && !whole(f.points_price, 1, 10_000_000)) e.points_price = "coupon_err_points";
  return e;
}

export function couponBody(f: CouponForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    title: f.title.trim(), kind: f.kind, budget: f.budget, per_buyer_limit: f.per_buyer_limit,
    claim_starts_at: f.window![0].toISOString(), claim_ends_at: f.window![1].toISOString(),
    valid_days: f.valid_days, session_id: f.session_id, min_fan_level: f.min_fan_level,
    segment_id: f.segment_id, points_price: f.points_price,
  };
  if (f.kind === "threshold") Object.assign(body, { threshold: toFen(f.threshold), amount_off: toFen(f.amount_off) });
  else if (f.kind === "percent") Object.assign(body, { threshold: toFen(f.threshold) ?? 0, percent_off: f.percent_off, cap: f.cap.trim() ? toFen(f.cap) : null });
  else Object.assign(body, { threshold: 0, amount_off: toFen(f.amount_off) });
  for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
  return body;
}

export interface CouponTerms { kind: string; threshold: number; amount_off: number | null; percent_off: number | null; cap: number | null }

/** 满 ¥100.00 减 ¥10.00 · 9 折 · 无门槛减 ¥5.00, in the console's language. */
export function couponTerms(c: CouponTerms, en: boolean): string {
  if (c.kind === "threshold") return en ? `${yuan(c.amount_off)} off ${yuan(c.threshold)}+` : `满 ${yuan(c.threshold)} 减 ${yuan(c.amount_off)}`;
  if (c.kind === "percent") {
    const base = en ? `${c.percent_off}% off` : `${((100 - (c.percent_off ?? 0)) / 10).toString()} 折`;
    const min = c.threshold ? (en ? ` from ${yuan(c.threshold)}` : `（满 ${yuan(c.threshold)}）`) : "";
    const cap = c.cap ? (en ? `, at most ${yuan(c.cap)}` : `，最多减 ${yuan(c.cap)}`) : "";
    return base + min + cap;
  }
  return en ? `${yuan(c.amount_off)} off, no minimum` : `无门槛减 ${yuan(c.amount_off)}`;
}

export interface CampaignForm {
  segment_id: number | null; title: string; body: string; coupon_id: number | null;
  when: "now" | "at" | "live"; send_at: Date | null; on_session_id: number | null;
}

export function blankCampaign(): CampaignForm {
  return { segment_id: null, title: "", body: "", coupon_id: null, when: "now", send_at: null, on_session_id: null };
}

export function campaignErrors(f: CampaignForm, now: Date): Record<string, string> {
  const e: Record<string, string> = {};
  if (f.segment_id === null) e.segment_id = "campaign_err_segment";
  if (!f.title.trim() || f.title.trim().length > 40 || !f.body.trim() || f.body.trim().length > 500) e.title = "campaign_err_text";
  if (f.when === "at" && (!f.send_at || f.send_at <= now)) e.send_at = "campaign_err_time";
  if (f.when === "live" && f.on_session_id === null) e.on_session_id = "campaign_err_session";
  return e;
}

export function campaignBody(f: CampaignForm): Record<string, unknown> {
  const body: Record<string, unknown> = { segment_id: f.segment_id, title: f.title.trim(), body: f.body.trim() };
  if (f.coupon_id !== null) body.coupon_id = f.coupon_id;
  if (f.when === "at" && f.send_at) body.send_at = f.send_at.toISOString();
  if (f.when === "live") body.on_session_id = f.on_session_id;
  return body;
}
