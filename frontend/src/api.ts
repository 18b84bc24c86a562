// JSON API calls with the session cookie and the CSRF token the server put in the page.
export class ApiError extends Error {
  status: number;
  problem: Record<string, unknown> | null;
  constructor(message: string, status: number, problem: Record<string, unknown> | null) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
  /** Field errors of a 422 problem (`errors: [{field, message}]`), by field name. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    const list = (this.problem?.errors ?? []) as { field?: string; loc?: unknown[]; message?: string; msg?: string }[];
    for (const e of Array.isArray(list) ? list : []) {
      const field = e.field ?? (Array.isArray(e.loc) ? String(e.loc[e.loc.length - 1]) : "");
      if (field) out[field] = e.message ?? e.msg ?? "";
    }
    return out;
  }
}

export function csrfToken(doc: Document = document): string {
  const meta = doc.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") ?? "" : "";
}

export interface Page<T> { items: T[]; total: number }

async function send(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { "X-CSRF-Token": csrfToken(), Accept: "application/json", ...extra };
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    const text = await response.text();
    let problem: Record<string, unknown> | null = null;
    try { problem = text ? JSON.parse(text) : null; } catch { problem = null; }
    const detail = (problem && (problem.detail as string)) || (problem && (problem.title as string)) || response.statusText;
    throw new ApiError(detail || `HTTP ${response.status}`, response.status, problem);
  }
  return response;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown,
  headers: Record<string, string> = {}): Promise<T> {
  const response = await send(method, path, body, headers);
  if (response.status === 204) return null as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** A list endpoint with `X-Total-Count`. */
export async function apiPage<T>(path: string): Promise<Page<T>> {
  const response = await send("GET", path);
  const items = (await response.json()) as T[];
  const total = Number(response.headers.get("X-Total-Count") ?? items.length);
  return { items, total };
}

export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
