/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// The console is served by the app at /console/; the build goes into the Python package
// (src/livepledge/web/dist, git-ignored) so `pip install .` after the build ships it.
export default defineConfig({
  base: "/console/",
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL("../src/livepledge/web/dist", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    modulePreload: { polyfill: false }, // the polyfill is an inline script; CSP forbids those
  },
  test: { environment: "jsdom" },
});
