// Who is logged in and which shop the console is for.
import { reactive } from "vue";
import { api } from "./api";

export interface Me { id: number; login: string; display_name: string; role: string; shops: { shop_id: number; role: string }[] }
export interface Shop { id: number; name: string; legal_name: string; license_no: string }
export interface Member { user_id: number; role: string; login: string; display_name: string }

export const store = reactive({
  ready: false,
  me: null as Me | null,
  shop: null as Shop | null,
  members: [] as Member[],
  error: "",
});

export async function loadShop(): Promise<void> {
  store.me = await api<Me>("GET", "/api/v1/me");
  const membership = store.me.shops.find((s) => s.role === "owner" || s.role === "staff") ?? store.me.shops[0];
  if (membership) {
    store.shop = await api<Shop>("GET", `/api/v1/shops/${membership.shop_id}`);
    store.members = await api<Member[]>("GET", `/api/v1/shops/${membership.shop_id}/members`);
  }
  store.ready = true;
}

export function shopId(): number {
  if (!store.shop) throw new Error("no shop");
  return store.shop.id;
}
