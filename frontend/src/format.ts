// Money in fen shown as yuan; times stored in UTC shown in the shop's zone (Asia/Shanghai).
export const SHOP_ZONE = "Asia/Shanghai";

export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return "";
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(fen));
  return `${sign}¥${Math.floor(abs / 100).toLocaleString("en-US")}.${String(abs % 100).padStart(2, "0")}`;
}

/** "12.5" → 1250; null for anything that is not a positive amount with at most 2 decimals. */
export function toFen(text: string | number | null | undefined): number | null {
  const s = String(text ?? "").trim();
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
}

export function shopTime(iso: string | null | undefined, lang = "zh-CN"): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: SHOP_ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(d);
}

/** A calendar day "YYYY-MM-DD" of a Date, in the shop's zone. */
export function shopDay(d: Date): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: SHOP_ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Time left until a deadline, in words: "1天3小时", "45分钟", "已超时" (ms ≤ 0). */
export function countdown(ms: number, lang = "zh-CN"): string {
  const en = lang === "en";
  if (ms <= 0) return en ? "overdue" : "已超时";
  const minutes = Math.ceil(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return en ? `${days} d ${hours} h left` : `剩 ${days} 天 ${hours} 小时`;
  if (hours > 0) return en ? `${hours} h ${mins} min left` : `剩 ${hours} 小时 ${mins} 分`;
  return en ? `${mins} min left` : `剩 ${mins} 分钟`;
}

/** A percentage (0–100, up to two decimals) as basis points: 10 → 1000, 2.5 → 250. */
export function basisPoints(percent: number): number {
  return Math.round(percent * 100);
}

/** An ROI in basis points, as the platform states it (rounded down): 9900 → "0.99×". */
export function roiText(bp: number): string {
  return `${(Math.floor(bp / 100) / 100).toFixed(2)}×`;
}
