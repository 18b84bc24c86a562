import { createRouter, createWebHistory } from "vue-router";

export const routes = [
  { path: "/", redirect: "/overview" },
  { path: "/overview", name: "overview", component: () => import("./views/OverviewView.vue") },
  { path: "/products", name: "products", component: () => import("./views/ProductsView.vue") },
  { path: "/live", name: "live", component: () => import("./views/LiveView.vue") },
  { path: "/live/:id", name: "desk", component: () => import("./views/DeskView.vue"), props: true },
  { path: "/orders", name: "orders", component: () => import("./views/OrdersView.vue") },
  { path: "/promises", name: "promises", component: () => import("./views/PromisesView.vue") },
  { path: "/aftersales", name: "aftersales", component: () => import("./views/CasesView.vue") },
  { path: "/compliance", name: "compliance", component: () => import("./views/ComplianceView.vue") },
  { path: "/audit", name: "audit", component: () => import("./views/AuditView.vue") },
  { path: "/partners", name: "partners", component: () => import("./views/PartnersView.vue") },
  { path: "/fans", name: "fans", component: () => import("./views/FansView.vue") },
  { path: "/marketing", name: "marketing", component: () => import("./views/MarketingView.vue") },
  { path: "/webhooks", name: "webhooks", component: () => import("./views/WebhooksView.vue") },
  { path: "/money", name: "money", component: () => import("./views/MoneyView.vue") },
  { path: "/:rest(.*)*", redirect: "/overview" },
];

export const router = createRouter({ history: createWebHistory("/console/"), routes });
