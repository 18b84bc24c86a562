import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, apiPage, csrfToken, query } from "../api";

afterEach(() => { vi.unstubAllGlobals(); document.head.innerHTML = ""; });

describe("api", () => {
  it("sends the page's CSRF token and JSON, and reads JSON back", async () => {
    document.head.innerHTML = '<meta name="csrf-token" content="tok123">';
    const fetchMock = vi.fn(async () => new Response('{"id":7}', { status: 201 }));
    vi.stubGlobal("fetch", fetchMock);
    expect(csrfToken()).toBe("tok123");
    const out = await api<{ id: number }>("POST", "/api/v1/x", { a: 1 });
    expect(out).toEqual({ id: 7 });
    const [path, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe("/api/v1/x");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("tok123");
    expect((init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
    expect(init.body).toBe('{"a":1}');
  });
  it("sends a FormData upload as multipart (no JSON content type)", async () => {
    const fetchMock = vi.fn(async () => new Response("{}", { status: 201 }));
    vi.stubGlobal("fetch", fetchMock);
    const form = new FormData();
    form.append("file", new Blob(["x"]), "a.png");
    await api("POST", "/api/v1/products/1/images", form);
    const init = (fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(init.body).toBe(form);
    expect((init.headers as Record<string, string>)["Content-Type"]).toBeUndefined();
  });
  it("turns a problem+json answer into an error with its detail and field errors", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({
      title: "Validation failed", detail: "标题须为 1–120 个字符", status: 422,
      errors: [{ field: "title", message: "too long" }],
    }), { status: 422, headers: { "Content-Type": "application/problem+json" } })));
    const error = (await api("POST", "/api/v1/x", {}).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.message).toBe("标题须为 1–120 个字符");
    expect(error.fieldErrors()).toEqual({ title: "too long" });
  });
  it("reads the total of a page from X-Total-Count", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("[1,2]", { status: 200, headers: { "X-Total-Count": "57" } })));
    expect(await apiPage<number>("/api/v1/shops/1/orders")).toEqual({ items: [1, 2], total: 57 });
  });
  it("builds query strings without empty values", () => {
    expect(query({ q: "张三", status: "", limit: 20, session_id: null })).toBe("?q=%E5%BC%A0%E4%B8%89&limit=20");
    expect(query({})).toBe("");
  });
});
