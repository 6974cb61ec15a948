/// <reference types="node" />
/// <reference types="vitest/config" />
// Builds the page into the server package (server/feedback_server/static/), which serves it
// at `/`. No React plugin: esbuild's own JSX transform (Vite 7 installs with npm 10 too, and
// @vitejs/plugin-react would need Vite 8). The output is deterministic (content-hashed file
// names, no timestamps, no source maps), so that a rebuild can be compared byte for byte.
import { defineConfig } from "vite";

// `make web-dev`: Vite's dev server forwards the API's paths (/feedback.v1.<Service>/<Method>)
// to a running feedback server's HTTP port.
const api = process.env.FEEDBACK_WEB_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "../../server/feedback_server/static",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
  },
  server: { proxy: { "^/feedback\\.v1\\.": { target: api } } },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
