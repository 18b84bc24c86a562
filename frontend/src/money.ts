// The 资金 page's pure helpers: periods in the shop's zone (Asia/Shanghai, UTC+8 all year, no
// daylight saving), the statement's query bounds, and idempotency keys for payouts/top-ups.
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

/** The calendar year and month (1-12) of an instant in Asia/Shanghai. */
export function shanghaiMonth(d: Date): { year: number; month: number } {
  const local = new Date(d.getTime() + SHANGHAI_OFFSET_MS);
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1 };
}

export function monthLabel(year: number, month: number): string {
  const y = year + Math.floor((month - 1) / 12);
  const m = ((((month - 1) % 12) + 12) % 12) + 1;
  return `${y}-${String(m).padStart(2, "0")}`;
}

export function quarterLabel(year: number, month: number): string {
  const label = monthLabel(year, month);
  const [y, m] = label.split("-").map(Number);
  return `${y}Q${Math.floor((m - 1) / 3) + 1}`;
}

/** The latest `months` months and `quarters` quarters up to `now`, newest first. */
export function recentPeriods(now: Date, months = 12, quarters = 4): { months: string[]; quarters: string[] } {
  const { year, month } = shanghaiMonth(now);
  const m = Array.from({ length: months }, (_, i) => monthLabel(year, month - i));
  const q = Array.from({ length: quarters }, (_, i) => quarterLabel(year, month - 3 * i));
  return { months: m, quarters: q };
}

/** A month "2026-11" as the statement's UTC bounds: [start, end). Null when not a month. */
export function monthBounds(label: string): { start: string; end: string } | null {
  const match = /^(\d{4})-(\d{2})$/.exec(label);
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  if (month < 1 || month > 12) return null;
  const start = new Date(Date.UTC(year, month - 1, 1) - SHANGHAI_OFFSET_MS);
  const end = new Date(Date.UTC(year, month, 1) - SHANGHAI_OFFSET_MS);
  return { start: start.toISOString(), end: end.toISOString() };
}

/** A fresh Idempotency-Key for one payout or top-up (kept across retries of the same one). */
export function newKey(prefix: string, random: () => number = Math.random): string {
  const part = () => Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
  return `${prefix}-${Date.now().toString(36)}-${part()}${part()}`;
}

/** A statement line's amount with its direction: "+¥1.00" to the shop, "-¥1.00" from it. */
export function signed(text: string, fen: number): string {
  return fen > 0 ? `+${text}` : text;
}

/** Where a statement line points: its order, else its case, payout or top-up. */
export function lineTarget(line: { order_id?: number | null; case_id?: number | null; payout_id?: number | null; top_up_id?: number | null }):
  { kind: "order" | "case" | "payout" | "top_up"; id: number; href: string | null } | null {
  if (line.order_id) return { kind: "order", id: line.order_id, href: `/orders/${line.order_id}` };
  if (line.case_id) return { kind: "case", id: line.case_id, href: `/cases/${line.case_id}` };
  if (line.payout_id) return { kind: "payout", id: line.payout_id, href: null };
  if (line.top_up_id) return { kind: "top_up", id: line.top_up_id, href: null };
  return null;
}
