import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { HttpDb } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { AppError } from "../http/errors";
import { sha256Hex } from "../lib/bytes";

/**
 * Optional `Idempotency-Key` with Stripe's semantics (docs/payments.md §2.1), per user, kept 24 h:
 * - same key + same request → the stored status and body, replayed (`Idempotent-Replayed: true`);
 * - same key + another request (path or body) → 422;
 * - same key while the first is still running → 409 (a lock older than 90 s is taken over);
 * - a request that fails (4xx validation, 5xx gateway trouble) stores nothing, so it can be retried.
 * The claim is one INSERT ... ON CONFLICT, never a SELECT-then-INSERT. Underneath, the natural key
 * (one open order per payer and listing) still holds without any header.
 *
 * Round trips: the route's first reads (`reads`) travel in one batch with the key's claim, so the
 * claim costs none of its own; storing the answer afterwards costs one. Without a key, `reads` are
 * simply the route's first call.
 */

export type StoredResponse = { status: 200 | 201; body: Record<string, unknown> };

/** A route's first database reads, sent as one batch (with the key's claim when there is a key). */
export type FirstReads = Readonly<[BatchItem<"pg">, ...BatchItem<"pg">[]]>;

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

export async function withIdempotency<T extends FirstReads>(
  db: HttpDb,
  req: { key: string | undefined; userId: string; method: string; path: string; body: unknown },
  reads: (db: HttpDb) => T,
  run: (read: BatchResponse<T>) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const key = req.key?.trim();
  if (!key) return { ...(await run(await db.batch(reads(db)))), replayed: false };
  if (key.length > 255) throw new AppError("VALIDATION_ERROR", "Idempotency-Key must be at most 255 characters");
  const requestHash = await sha256Hex(JSON.stringify(canonical(req.body ?? null)));
  const mine = and(eq(idempotencyKeys.userId, req.userId), eq(idempotencyKeys.key, key));

  let claimedId: string | undefined;
  let read: BatchResponse<T> | undefined;
  for (let i = 0; i < 3 && !claimedId; i++) {
    const [claimed, [row], ...rest] = await db.batch([
      // A key past its 24 h is claimed afresh in the same statement (it no longer replays anything).
      db
        .insert(idempotencyKeys)
        .values({ userId: req.userId, key, requestMethod: req.method, requestPath: req.path, requestHash, lockedAt: sql`now()` })
        .onConflictDoUpdate({
          target: [idempotencyKeys.userId, idempotencyKeys.key],
          set: {
            requestMethod: req.method,
            requestPath: req.path,
            requestHash,
            lockedAt: sql`now()`,
            responseStatus: null,
            responseBody: null,
            createdAt: sql`now()`,
            expiresAt: sql`now() + interval '24 hours'`,
          },
          setWhere: sql`${idempotencyKeys.expiresAt} <= now()`,
        })
        .returning({ id: idempotencyKeys.id }),
      // A later statement of the same transaction: our claim, or the row that was there first.
      db.select().from(idempotencyKeys).where(mine).limit(1),
      ...reads(db),
    ]);
    if (claimed[0]) {
      claimedId = claimed[0].id;
      read = rest as BatchResponse<T>;
      break;
    }
    if (!row) continue; // deleted between our INSERT and SELECT (failed first request): claim again
    if (row.requestHash !== requestHash || row.requestPath !== req.path || row.requestMethod !== req.method) {
      throw new AppError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
    }
    if (row.responseStatus !== null) {
      return { status: row.responseStatus as 200 | 201, body: row.responseBody as Record<string, unknown>, replayed: true };
    }
    if (row.lockedAt && Date.now() - row.lockedAt.getTime() > LOCK_TIMEOUT_MS) {
      // Compare-and-set on staleness (the stored lock time has microseconds a JS Date cannot echo):
      // of concurrent takers, the first resets the lock and the others' WHERE no longer matches.
      const [taken] = await db
        .update(idempotencyKeys)
        .set({ lockedAt: sql`now()` })
        .where(
          and(
            eq(idempotencyKeys.id, row.id),
            isNull(idempotencyKeys.responseStatus),
            lt(idempotencyKeys.lockedAt, sql`now() - make_interval(secs => ${LOCK_TIMEOUT_MS / 1000})`),
          ),
        )
        .returning({ id: idempotencyKeys.id });
      if (taken) {
        claimedId = taken.id;
        // The reads are repeated after a takeover: what the earlier holder did may have changed them.
        read = await db.batch(reads(db));
        break;
      }
    }
    throw new AppError("IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is still being processed", { retryAfter: 2 });
  }
  if (!claimedId || !read) throw new AppError("IDEMPOTENCY_IN_PROGRESS", "Please retry", { retryAfter: 1 });

  let result: StoredResponse;
  try {
    result = await run(read);
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
