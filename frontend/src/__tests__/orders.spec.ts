import { afterEach, describe, expect, it, vi } from "vitest";
import { flushPromises, mount } from "@vue/test-utils";
import ElementPlus from "element-plus";
import OrdersView from "../views/OrdersView.vue";
import { store } from "../shop";

const ORDER = {
  id: 41, session_id: 3, quantity: 2, amount: 7800, status: "paid", created_at: "2026-12-05T16:30:00Z",
  buyer_login: "lin", buyer_name: "林", carrier: null, tracking_number: null,
  snapshot: { product_title: "纯棉短袖 T 恤", sku_name: "白色 M", image: null, session_title: "专场" },
};

afterEach(() => { vi.unstubAllGlobals(); });

describe("the order list", () => {
  it("asks the server for one page, shows words and the total, and searches on the server", async () => {
    store.shop = { id: 5, name: "店", legal_name: "店", license_no: "x" };
    const calls: string[] = [];
    vi.stubGlobal("matchMedia", () => ({ matches: false, addEventListener() {} }));
    vi.stubGlobal("fetch", vi.fn(async (path: string) => {
      calls.push(path);
      if (path.includes("/sessions")) return new Response("[]", { status: 200 });
      return new Response(JSON.stringify([ORDER]), { status: 200, headers: { "X-Total-Count": "57" } });
    }));
    const wrapper = mount(OrdersView, { global: { plugins: [ElementPlus] }, attachTo: document.body });
    await flushPromises();
    expect(calls).toEqual(["/api/v1/shops/5/sessions", "/api/v1/shops/5/orders?limit=20&offset=0"]);
    expect(wrapper.text()).toContain("待发货");
    expect(wrapper.text()).not.toContain("paid");
    expect(wrapper.text()).toContain("¥78.00");
    expect(wrapper.text()).toContain("2026/12/06 00:30");
    expect(wrapper.text()).toContain("57");
    const search = wrapper.find("input[data-testid=order-search]");
    await search.setValue("SF123");
    await search.trigger("keyup", { key: "Enter" });
    await flushPromises();
    expect(calls[2]).toBe("/api/v1/shops/5/orders?q=SF123&limit=20&offset=0");
    expect(wrapper.find("[data-testid=csv-export]").attributes("href")).toBe("/api/v1/shops/5/orders.csv?q=SF123");
    wrapper.unmount();
  });
});
