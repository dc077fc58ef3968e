import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
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

/**
 * The core's queue consumers as wrangler.toml declares them, except that a batch is handed to the
 * consumer as soon as a message is sent instead of after max_batch_timeout (1 s): tests wait for
 * deliveries, and batching only delays them. Size, retries, retry delay and dead-letter queues stay.
 */
type QueueConsumerConfig = {
  queue: string;
  max_batch_size?: number;
  max_retries?: number;
  retry_delay?: number;
  dead_letter_queue?: string;
};
const coreConfig = unstable_readConfig({ config: "./wrangler.toml" });
const queueConsumers = Object.fromEntries(
  (coreConfig.queues.consumers ?? []).map((q: QueueConsumerConfig) => [
    q.queue,
    {
      maxBatchSize: q.max_batch_size,
      maxBatchTimeout: 0,
      maxRetries: q.max_retries,
      retryDelay: q.retry_delay,
      deadLetterQueue: q.dead_letter_queue,
    },
  ]),
);

/**
 * API test files run in parallel, at least two at a time: a file spends much of its time waiting (for
 * Postgres, a deadline, a queue), and another file's requests fill that time. Measured on 2 cores, 20
 * files: 83 s one at a time, 37 s two at a time. Each runtime has a database of its own
 * (test/global-setup.ts explains why).
 */
const API_WORKERS = Math.min(4, Math.max(2, availableParallelism()));

/** Runtimes started so far: runtime n uses database n (mod the count), so parallel runtimes never share one. */
let runtimes = 0;
const nextDatabase = (urls: string[]) => urls[runtimes++ % urls.length]!;

export default defineConfig({
  test: {
    projects: [
      {
        // The API in real workerd against a real Postgres (the global setup starts the local stack).
        extends: false,
        resolve: { alias },
        plugins: [
          // Function form: resolved after globalSetup ran, so inject() sees the database and sandbox ports.
          // Called once per runtime the pool starts; each takes the next of the global setup's databases.
          cloudflareTest(({ inject }) => ({
            main: "./test/placement/pair-worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              serviceBindings: { CORE: { name: coreService, entrypoint: "Core" } },
              ratelimits: edgeRatelimits,
              queueConsumers,
              bindings: {
                ENVIRONMENT: "test",
                LOG_LEVEL: "warn",
                DATABASE_URL: nextDatabase(inject("databaseUrls")),
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
          // A runtime (Miniflare: a workerd process and the imported module graph) serves file after
          // file instead of being started for each: that start cost 5-6 s a file. The files were
          // written to share a database and the Paytm sandbox (random users, per-order faults). Module
          // state (caches, the Paytm breaker) lives across files as it lives across requests in
          // production; setup-each-file.ts gives every file a closed Paytm breaker.
          isolate: false,
          setupFiles: ["./test/setup-each-file.ts"],
          maxWorkers: API_WORKERS,
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
          // After the workerd project: these start whole stacks (postgres, wrangler, workerd), and beside
          // the API tests on 2 cores they slowed both (measured: 129 s side by side against 37 s + 77 s
          // one after the other). Two files at a time: npm run dev's cases take the longest, the others
          // (one postgres each) fit beside them.
          sequence: { groupOrder: 1 },
          maxWorkers: 2,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
