import { and, eq, lt, sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { AppError } from "../http/errors";

/**
 * Optional `Idempotency-Key` with Stripe's semantics (anchors §2.1, §2.4), per user, kept 24 h:
 * - same key + same request → the stored status and body, replayed (`Idempotent-Replayed: true`);
 * - same key + another request (path or body) → 422;
 * - same key while the first is still running → 409 (a lock older than 90 s is taken over);
 * - a request that fails (4xx validation, 5xx gateway trouble) stores nothing, so it can be retried.
 * The claim is one INSERT ... ON CONFLICT DO NOTHING, never a SELECT-then-INSERT. Underneath, the
 * natural key (one open order per payer and listing) still holds without any header.
 */

export type StoredResponse = { status: 200 | 201; body: Record<string, unknown> };

const LOCK_TIMEOUT_MS = 90_000;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function withIdempotency(
  db: HttpDb,
  req: { key: string | undefined; userId: string; method: string; path: string; body: unknown },
  run: () => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const key = req.key?.trim();
  if (!key) return { ...(await run()), replayed: false };
  if (key.length > 255) throw new AppError("VALIDATION_ERROR", "Idempotency-Key must be at most 255 characters");
  const requestHash = await sha256Hex(JSON.stringify(canonical(req.body ?? null)));

  let claimedId: string | undefined;
  for (let i = 0; i < 3 && !claimedId; i++) {
    const [claimed] = await db
      .insert(idempotencyKeys)
      .values({ userId: req.userId, key, requestMethod: req.method, requestPath: req.path, requestHash, lockedAt: sql`now()` })
      .onConflictDoNothing()
      .returning({ id: idempotencyKeys.id });
    if (claimed) {
      claimedId = claimed.id;
      break;
    }
    const [row] = await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, req.userId), eq(idempotencyKeys.key, key)))
      .limit(1);
    if (!row) continue; // deleted between our INSERT and SELECT (failed first request): claim again
    if (row.expiresAt.getTime() <= Date.now()) {
      await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.id, row.id), lt(idempotencyKeys.expiresAt, sql`now()`)));
      continue;
    }
    if (row.requestHash !== requestHash || row.requestPath !== req.path || row.requestMethod !== req.method) {
      throw new AppError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
    }
    if (row.responseStatus !== null) {
      return { status: row.responseStatus as 200 | 201, body: row.responseBody as Record<string, unknown>, replayed: true };
    }
    if (row.lockedAt && Date.now() - row.lockedAt.getTime() > LOCK_TIMEOUT_MS) {
      const [taken] = await db
        .update(idempotencyKeys)
        .set({ lockedAt: sql`now()` })
        .where(and(eq(idempotencyKeys.id, row.id), eq(idempotencyKeys.lockedAt, row.lockedAt)))
        .returning({ id: idempotencyKeys.id });
      if (taken) {
        claimedId = taken.id;
        break;
      }
    }
    throw new AppError("IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is still being processed", { retryAfter: 2 });
  }
  if (!claimedId) throw new AppError("IDEMPOTENCY_IN_PROGRESS", "Please retry", { retryAfter: 1 });

  let result: StoredResponse;
  try {
    result = await run();
  } catch (err) {
    await db
      .delete(idempotencyKeys)
      .where(eq(idempotencyKeys.id, claimedId))
      .catch(() => undefined);
    throw err;
  }
  await db
    .update(idempotencyKeys)
    .set({ responseStatus: result.status, responseBody: result.body, lockedAt: null })
    .where(eq(idempotencyKeys.id, claimedId));
  return { ...result, replayed: false };
}
