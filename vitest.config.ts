import { mkdirSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { buildSync } from "esbuild";
import { configDefaults, defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";

/**
 * Hot-loop dependencies are pre-bundled with esbuild, the way wrangler bundles them for deploy:
 * Vite's module-runner transform made noble's scrypt ~8x slower under the pool.
 */
const PREBUNDLED = ["@noble/hashes/scrypt.js", "@noble/hashes/sha2.js", "@noble/hashes/hmac.js", "@noble/hashes/utils.js", "bcryptjs"];
const outDir = ".local/test-deps";
mkdirSync(outDir, { recursive: true });
const alias = PREBUNDLED.map((spec) => {
  const outfile = `${outDir}/${spec.replace(/[^a-z0-9]+/gi, "_")}.mjs`;
  buildSync({
    stdin: { contents: `export * from ${JSON.stringify(spec)};`, resolveDir: process.cwd() },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["crypto", "node:*"],
    outfile,
    logLevel: "silent",
  });
  return { find: new RegExp(`^${spec.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`), replacement: `${process.cwd()}/${outfile}` };
});

/**
 * The suite runs the two workers the way production does (docs/architecture.md): SELF is the edge
 * worker, which forwards through its CORE service binding to the core worker. Both live in one test
 * worker (test/placement/pair-worker.ts) so the Durable Object helpers reach every namespace: it has
 * the core's bindings (wrangler.toml), the edge's rate limits, and CORE bound to its own `Core`
 * entrypoint (the plugin points a binding to the config's own worker name back at the test worker).
 */
const edgeConfig = unstable_readConfig({ config: "./wrangler.edge.toml" });
const coreService = edgeConfig.services?.find((s: { binding: string }) => s.binding === "CORE")?.service;
if (!coreService) throw new Error("wrangler.edge.toml has no CORE service binding");
const edgeRatelimits = Object.fromEntries(
  edgeConfig.ratelimits.map((r: { name: string; namespace_id: string; simple: unknown }) => [
    r.name,
    { namespace_id: r.namespace_id, simple: r.simple },
  ]),
);

export default defineConfig({
  test: {
    projects: [
      {
        // The API in real workerd against a real Postgres (the global setup starts the local stack).
        extends: false,
        resolve: { alias },
        plugins: [
          // Function form: resolved after globalSetup ran, so inject() sees the database and sandbox ports.
          cloudflareTest(({ inject }) => ({
            main: "./test/placement/pair-worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              serviceBindings: { CORE: { name: coreService, entrypoint: "Core" } },
              ratelimits: edgeRatelimits,
              bindings: {
                ENVIRONMENT: "test",
                LOG_LEVEL: "warn",
                DATABASE_URL: inject("databaseUrl"),
                NEON_LOCAL_PROXY: inject("neonLocalProxy"),
                PAYTM_HOST: inject("paytmUrl"),
                PAYTM_MID: inject("paytmMid"),
                PAYTM_MERCHANT_KEY: inject("paytmKey"),
                PAYTM_WEBSITE: "WEBSTAGING",
                // Fault tests hold Paytm answers past this; loopback answers take milliseconds.
                PAYTM_TIMEOUT_MS: "3000",
                EXPO_PUSH_URL: inject("expoPushUrl"),
                PUBLIC_BASE_URL: "http://127.0.0.1:8787",
                SMS_DRIVER: "console",
                JWT_SECRET: "test-only-jwt-secret-0123456789abcdef0123",
                CORS_ORIGINS: "http://localhost:8081",
                // Lower KDF cost through configuration only; the code path is production's.
                PASSWORD_SCRYPT_LOG_N: "10",
              },
            },
          })),
        ],
        test: {
          name: "workerd",
          globalSetup: ["./test/global-setup.ts"],
          include: ["test/**/*.test.ts", "src/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/tools/**"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // On Node: the tooling (npm run dev, the front door, the Paytm sandbox) as a developer runs it, with real
        // processes and ports, and the checksum oracle, which needs Node's own crypto (test/payments/checksum-oracle.ts).
        extends: false,
        test: {
          name: "tools",
          environment: "node",
          include: ["test/tools/**/*.test.ts"],
          // After the workerd project, one file at a time: these start whole stacks on a shared machine.
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
