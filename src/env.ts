import { z } from "zod";

/**
 * Configuration: every var and secret the worker reads, validated once per env object.
 * A misconfigured deployment fails loudly on its first request with a message that names the
 * offending keys (never their values); production refuses the development-only switches.
 */

const LOOPBACK = /^(https?:\/\/)?(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/i;
const csv = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

/** What both workers read (docs/architecture.md): the edge worker's whole configuration. */
const EdgeShape = {
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** The edge verifies bearer tokens (rate-limit key); the core verifies them again in requireAuth. */
  JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
  CORS_ORIGINS: csv,
  /**
   * Local latency model only (bench, development): one-way delay in ms (fractions allowed: 27.5 models
   * a 55 ms round trip) the edge's forwarder waits before forwarding to the core and again before
   * answering, standing in for the edge↔core distance (docs/architecture.md).
   */
  LATENCY_EDGE_CORE_MS: z.coerce.number().min(0).max(10_000).optional(),
};

/** Refusals that apply to both workers. */
function refuseDevelopmentSwitches(cfg: z.infer<z.ZodObject<typeof EdgeShape>>, ctx: z.RefinementCtx) {
  if (cfg.ENVIRONMENT !== "production") return;
  const refuse = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (/^dev-only/.test(cfg.JWT_SECRET)) refuse("JWT_SECRET", "the development secret cannot be used");
  if (cfg.LATENCY_EDGE_CORE_MS !== undefined) refuse("LATENCY_EDGE_CORE_MS", "development-only latency model; remove it in production");
}

const ConfigSchema = z
  .object({
    ...EdgeShape,
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
    /**
     * Deadline of every database call: an HTTP query or batch, a transaction's connect and each of its
     * statements. Past it the call fails with a retryable 503 instead of hanging on a stalled endpoint.
     */
    DB_TIMEOUT_MS: z.coerce.number().int().min(500).max(60_000).default(5_000),
    /** Local only: host:port of scripts/db/front-door.mjs, which stands in for Neon's proxy. */
    NEON_LOCAL_PROXY: z.string().optional(),
    PAYTM_MID: z.string().min(1),
    /** AES-128 key: Paytm merchant keys are 16 characters; anything else fails closed in checksum.ts. */
    PAYTM_MERCHANT_KEY: z.string().length(16, "must be the 16-character Paytm merchant key"),
    PAYTM_HOST: z.url(),
    PAYTM_WEBSITE: z.string().min(1),
    /** Per-attempt timeout of a Paytm API call; the whole call (with retries) stays within 30 s. */
    PAYTM_TIMEOUT_MS: z.coerce.number().int().min(500).max(30_000).default(10_000),
    /** Optional allow-list for server-to-server webhooks (never for the browser callback). */
    PAYTM_WEBHOOK_IPS: csv,
    PUBLIC_BASE_URL: z.url(),
    SMS_DRIVER: z.enum(["console", "msg91", "twilio"]),
    SMS_API_URL: z.url().optional(),
    SMS_API_KEY: z.string().optional(),
    SMS_SENDER: z.string().optional(),
    /**
     * Daily OTP SMS budgets (India calendar day, src/auth/sms.ts), on top of the per-address throttle:
     * per destination number (a real user needs a few a day; stops SMS bombing of one phone), and for
     * the whole deployment (caps the SMS bill if many numbers or addresses are used at once).
     */
    SMS_DAILY_LIMIT_PER_NUMBER: z.coerce.number().int().min(1).max(1000).default(10),
    SMS_DAILY_LIMIT_GLOBAL: z.coerce.number().int().min(1).default(10_000),
    EXPO_PUSH_URL: z.url(),
    EXPO_ACCESS_TOKEN: z.string().optional(),
    GEOCODER_URL: z.url().optional(),
    /** log2 of scrypt's N. 14 is OWASP's floor; tests lower it through config, never through code. */
    PASSWORD_SCRYPT_LOG_N: z.coerce.number().int().min(8).max(20).default(14),
  })
  .superRefine((cfg, ctx) => {
    refuseDevelopmentSwitches(cfg, ctx);
    if (cfg.ENVIRONMENT !== "production") return;
    const refuse = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (cfg.NEON_LOCAL_PROXY) refuse("NEON_LOCAL_PROXY", "development-only; remove it in production");
    if (cfg.SMS_DRIVER === "console") refuse("SMS_DRIVER", "the console driver is development-only");
    if (LOOPBACK.test(cfg.PAYTM_HOST)) refuse("PAYTM_HOST", "cannot point at the local sandbox in production");
    if (LOOPBACK.test(cfg.PUBLIC_BASE_URL)) refuse("PUBLIC_BASE_URL", "must be the public https URL");
    if (LOOPBACK.test(cfg.EXPO_PUSH_URL)) refuse("EXPO_PUSH_URL", "cannot point at a local mock in production");
    if (cfg.PASSWORD_SCRYPT_LOG_N < 14) refuse("PASSWORD_SCRYPT_LOG_N", "must be at least 14 in production");
    if (cfg.SMS_DRIVER !== "console" && !cfg.SMS_API_KEY) refuse("SMS_API_KEY", "required by the SMS driver");
  });

const EdgeConfigSchema = z.object(EdgeShape).superRefine(refuseDevelopmentSwitches);

/** The core worker's configuration (every route with database access, jobs, Durable Objects). */
export type Config = z.infer<typeof ConfigSchema>;
/** The edge worker's configuration: no database, Paytm or SMS credentials reach it. */
export type EdgeConfig = z.infer<typeof EdgeConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

function loader<T>(schema: z.ZodType<T>): (env: object) => T {
  const cache = new WeakMap<object, T>();
  return (env) => {
    const hit = cache.get(env);
    if (hit) return hit;
    const parsed = schema.safeParse(env);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
      throw new ConfigError(`Invalid configuration — ${problems.join("; ")}`);
    }
    cache.set(env, parsed.data);
    return parsed.data;
  };
}

/** Parses the bindings' string vars; cached per env object, so it runs once per isolate in practice. */
export const loadConfig: (env: object) => Config = loader(ConfigSchema);
export const loadEdgeConfig: (env: object) => EdgeConfig = loader(EdgeConfigSchema);
