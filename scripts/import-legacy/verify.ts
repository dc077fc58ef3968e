/**
 * The verification report: invariants between the old database and ours, row by row (keyset pages of
 * source ids, each looked up in the target with its quarantine entries in one query), so the result
 * holds however large the tables are and whatever else the target already holds. A difference is
 * fine only when a quarantine entry explains it; anything else fails the run.
 *
 * - users: every old account is here (same id, role and bcrypt hash) or quarantined;
 * - active listings: every listing the old server listed as of the run's instant is active here
 *   until the same instant (the end of its last paid India day), and nothing else is;
 * - paid amounts: the sum of paid orders equals the old completed payments, minus quarantined ones,
 *   plus payments Paytm's own responses prove were taken;
 * - open bookings by status: every pending/accepted booking has the same status here or is quarantined;
 * - labour passes active now: every customer whose pass was active is active here until the same
 *   instant, and nobody else is;
 * - accounting: every row read ended written, already present, or quarantined.
 */
import type pg from "pg";
import { endOfIstDay, instantSql, paise } from "./legacy.ts";
import type { Ctx, Step } from "./steps.ts";

export type Invariant = {
  name: string;
  ok: boolean;
  /** One line a person reads: what was compared and the numbers. */
  summary: string;
  details: Record<string, unknown>;
  /** The first few rows that break it. */
  mismatches: string[];
};

type Q = { table: string; reason: string; action: string; detail?: Record<string, unknown> };
const MAX_LISTED = 20;
const PAGE = 5000;

async function* pages(src: pg.Client, select: string, from: string, where = "true"): AsyncGenerator<Record<string, unknown>[]> {
  let last: string | null = null;
  for (;;) {
    const sql: string =
      last === null
        ? `SELECT ${select} FROM ${from} WHERE ${where} ORDER BY x.id LIMIT ${PAGE}`
        : `SELECT ${select} FROM ${from} WHERE x.id > $1 AND (${where}) ORDER BY x.id LIMIT ${PAGE}`;
    const { rows }: pg.QueryResult<Record<string, unknown>> = await src.query(sql, last === null ? [] : [last]);
    if (!rows.length) return;
    yield rows;
    last = String(rows.at(-1)!.id);
  }
}

/** The target rows for these ids (LEFT JOIN: missing ones come back with nulls) plus their quarantine entries. */
async function lookup(dst: pg.Client, ids: string[], select: string, join: string, tables: string[], extra: unknown[] = []) {
  const { rows } = await dst.query(
    `SELECT s.id::text AS sid, ${select},
            coalesce((SELECT jsonb_agg(jsonb_build_object('table', q.source_table, 'reason', q.reason, 'action', q.action, 'detail', q.detail))
                        FROM legacy_import.quarantine q WHERE q.source_table = ANY($2) AND q.source_id = s.id::text), '[]') AS q
       FROM unnest($1::uuid[]) AS s(id) ${join}`,
    [ids, tables, ...extra],
  );
  return new Map(rows.map((r) => [String(r.sid), r as Record<string, unknown> & { q: Q[] }]));
}

const skipped = (q: Q[], table: string) => q.some((e) => e.table === table && e.action === "skipped");
const has = (q: Q[], table: string, action: string) => q.some((e) => e.table === table && e.action === action);
const sameInstant = (a: unknown, b: unknown) =>
  a !== null && b !== null && a !== undefined && b !== undefined && Date.parse(String(a)) === Date.parse(String(b));

function result(
  name: string,
  summary: string,
  details: Record<string, unknown>,
  mismatches: string[],
  ok = mismatches.length === 0,
): Invariant {
  return { name, ok, summary, details, mismatches: mismatches.slice(0, MAX_LISTED) };
}

async function usersAndLabour(src: pg.Client, dst: pg.Client, ctx: Ctx): Promise<Invariant[]> {
  let total = 0;
  let imported = 0;
  let quarantined = 0;
  const userMismatch: string[] = [];
  let activeOld = 0;
  let activeKept = 0;
  let activeExplained = 0;
  let activeNewOnly = 0;
  const labourMismatch: string[] = [];
  const asOf = Date.parse(ctx.asOf);
  for await (const rows of pages(
    src,
    `x.id, x.role, x.password, x.labour_access_status, ${instantSql("x.labour_access_end_date", "node", ctx.nodeTz)} AS access_end`,
    "users x",
  )) {
    const found = await lookup(
      dst,
      rows.map((r) => String(r.id)),
      `u.role::text AS role, u.password_hash,
       to_json((SELECT max(la.expires_at) FROM labour_access la WHERE la.user_id = s.id)) #>> '{}' AS labour_end,
       EXISTS (SELECT 1 FROM labour_access la WHERE la.user_id = s.id AND la.starts_at <= $3 AND $3 < la.expires_at) AS labour_now`,
      "LEFT JOIN users u ON u.id = s.id",
      ["users", "users:labour_access"],
      [ctx.asOf],
    );
    for (const r of rows) {
      const id = String(r.id);
      const t = found.get(id)!;
      total++;
      if (skipped(t.q, "users")) {
        quarantined++;
        if (t.role !== null) userMismatch.push(`${id}: quarantined as skipped but present`);
      } else if (t.role === null) {
        userMismatch.push(`${id}: missing and not quarantined`);
      } else {
        imported++;
        if (t.role !== r.role) userMismatch.push(`${id}: role ${r.role} became ${t.role}`);
        const passwordReset = t.q.some((e) => e.reason === "unusable_password_hash");
        if (!passwordReset && t.password_hash !== r.password) userMismatch.push(`${id}: password hash changed`);
      }
      const wasActive = r.labour_access_status === "active" && r.access_end !== null && Date.parse(String(r.access_end)) > asOf;
      if (wasActive) {
        activeOld++;
        if (skipped(t.q, "users") || skipped(t.q, "users:labour_access")) activeExplained++;
        else if (t.labour_now === true && sameInstant(t.labour_end, r.access_end)) activeKept++;
        else
          labourMismatch.push(
            `${id}: active until ${r.access_end} on the old server; here ${t.labour_now ? `until ${t.labour_end}` : "no access now"}`,
          );
      } else if (t.labour_now === true) {
        activeNewOnly++;
        labourMismatch.push(`${id}: has labour access here (until ${t.labour_end}) but had none on the old server`);
      }
    }
  }
  return [
    result(
      "users",
      `${total} old accounts: ${imported} imported (bcrypt hash kept), ${quarantined} quarantined`,
      { source: total, imported, quarantined },
      userMismatch,
      userMismatch.length === 0 && imported + quarantined === total,
    ),
    result(
      "labour passes active now",
      `${activeOld} active on the old server at ${ctx.asOf}: ${activeKept} active here until the same instant, ${activeExplained} quarantined; ${activeNewOnly} active here only`,
      { source: activeOld, kept: activeKept, quarantined: activeExplained, activeHereOnly: activeNewOnly },
      labourMismatch,
    ),
  ];
}

async function activeListings(src: pg.Client, dst: pg.Client, ctx: Ctx): Promise<Invariant> {
  let activeOld = 0;
  let kept = 0;
  let explained = 0;
  const mismatch: string[] = [];
  const asOf = Date.parse(ctx.asOf);
  for await (const rows of pages(src, "x.id, x.payment_status, x.payment_end_date::text AS end_date", "provider_services x")) {
    const found = await lookup(
      dst,
      rows.map((r) => String(r.id)),
      "ps.status::text AS status, to_json(ps.expires_at) #>> '{}' AS expires_at",
      "LEFT JOIN provider_services ps ON ps.id = s.id",
      ["provider_services"],
    );
    for (const r of rows) {
      const id = String(r.id);
      const t = found.get(id)!;
      const wasActive = r.payment_status === "active" && r.end_date !== null && String(r.end_date) >= ctx.today;
      const isActive = t.status === "active" && t.expires_at !== null && Date.parse(String(t.expires_at)) > asOf;
      const gone = skipped(t.q, "provider_services") || has(t.q, "provider_services", "imported_as_deleted");
      if (wasActive) {
        activeOld++;
        if (gone) explained++;
        else if (isActive && sameInstant(t.expires_at, endOfIstDay(String(r.end_date)))) kept++;
        else mismatch.push(`${id}: paid through ${r.end_date} (old), here ${t.status ?? "missing"} until ${t.expires_at}`);
      } else if (isActive) {
        mismatch.push(`${id}: active here until ${t.expires_at} but ${r.payment_status} (through ${r.end_date}) on the old server`);
      }
    }
  }
  return result(
    "active listings and their expiry",
    `${activeOld} listings active on the old server on ${ctx.today} (India): ${kept} active here until the end of the same paid day, ${explained} quarantined`,
    { source: activeOld, kept, quarantined: explained },
    mismatch,
  );
}

async function paidAmounts(src: pg.Client, dst: pg.Client): Promise<Invariant> {
  let oldCompleted = 0;
  let quarantinedPaid = 0;
  let provenPaid = 0;
  let paidHere = 0;
  const mismatch: string[] = [];
  for (const table of ["payment_transactions", "labour_payment_transactions"]) {
    for await (const rows of pages(src, "x.id, x.amount::text AS amount, x.status", `${table} x`)) {
      const found = await lookup(
        dst,
        rows.map((r) => String(r.id)),
        "o.status::text AS status, o.amount_paise",
        "LEFT JOIN payment_orders o ON o.id = s.id",
        [table],
      );
      for (const r of rows) {
        const id = String(r.id);
        const t = found.get(id)!;
        const amount = paise(String(r.amount)) ?? 0;
        const completed = r.status === "completed";
        const wasSkipped = skipped(t.q, table);
        const proven = t.q.some((e) => e.reason === "failed_but_paid_at_paytm");
        if (completed) oldCompleted += amount;
        if (completed && wasSkipped) quarantinedPaid += amount;
        if (proven) provenPaid += amount;
        const paid = t.status === "paid";
        if (paid) paidHere += Number(t.amount_paise);
        const shouldBePaid = !wasSkipped && (completed || proven);
        if (paid !== shouldBePaid) mismatch.push(`${table} ${id}: ${r.status} (old) is ${t.status ?? "missing"} here`);
        else if (paid && Number(t.amount_paise) !== amount) mismatch.push(`${table} ${id}: ${amount} paise became ${t.amount_paise}`);
        if (!wasSkipped && t.status === null) mismatch.push(`${table} ${id}: missing and not quarantined`);
      }
    }
  }
  const expected = oldCompleted - quarantinedPaid + provenPaid;
  const rupees = (p: number) => `₹${(p / 100).toFixed(2)}`;
  return result(
    "sum of paid amounts",
    `old completed ${rupees(oldCompleted)} − quarantined ${rupees(quarantinedPaid)} + proven paid at Paytm ${rupees(provenPaid)} = ${rupees(expected)}; paid here ${rupees(paidHere)}`,
    {
      oldCompletedPaise: oldCompleted,
      quarantinedPaise: quarantinedPaid,
      provenPaidPaise: provenPaid,
      expectedPaise: expected,
      paidHerePaise: paidHere,
    },
    mismatch,
    mismatch.length === 0 && expected === paidHere,
  );
}

async function openBookings(src: pg.Client, dst: pg.Client): Promise<Invariant> {
  const byStatus: Record<string, { source: number; here: number; quarantined: number }> = {
    pending: { source: 0, here: 0, quarantined: 0 },
    accepted: { source: 0, here: 0, quarantined: 0 },
  };
  const mismatch: string[] = [];
  for await (const rows of pages(src, "x.id, x.status", "bookings x", "x.status IN ('pending', 'accepted')")) {
    const found = await lookup(
      dst,
      rows.map((r) => String(r.id)),
      "b.status::text AS status",
      "LEFT JOIN bookings b ON b.id = s.id",
      ["bookings"],
    );
    for (const r of rows) {
      const s = byStatus[String(r.status)]!;
      const t = found.get(String(r.id))!;
      s.source++;
      if (skipped(t.q, "bookings")) s.quarantined++;
      else if (t.status === r.status) s.here++;
      else mismatch.push(`${r.id}: ${r.status} (old) is ${t.status ?? "missing"} here`);
    }
  }
  const line = Object.entries(byStatus)
    .map(([k, v]) => `${k} ${v.source} → ${v.here} here + ${v.quarantined} quarantined`)
    .join("; ");
  return result("open bookings by status", line, byStatus, mismatch);
}

function accounting(steps: Step[], stats: Map<string, Record<string, number>>): Invariant {
  const mismatch: string[] = [];
  const details: Record<string, unknown> = {};
  for (const step of steps) {
    const s = stats.get(step.name) ?? {};
    if (step.name === "labour_payments_by_customer") continue; // read per customer, written per payment
    const table = Object.keys(s)
      .find((k) => k.endsWith(".written"))
      ?.replace(/\.written$/, "");
    const get = (k: string) => Number(s[k] ?? 0);
    const landed = table
      ? get(`${table}.written`) +
        get(`${table}.existing`) +
        get(`${table}.orphaned`) +
        get(`${table}.conflicted`) +
        get(`${table}.rejected`)
      : 0;
    const accounted = landed + get("skipped");
    details[step.name] = { read: get("read"), accounted };
    if (accounted !== get("read")) mismatch.push(`${step.name}: read ${get("read")}, accounted for ${accounted}`);
  }
  return result("accounting", "every row read was written, already present, or quarantined", details, mismatch);
}

export async function verify(
  src: pg.Client,
  dst: pg.Client,
  ctx: Ctx,
  steps: Step[],
  stats: Map<string, Record<string, number>>,
): Promise<Invariant[]> {
  return [
    ...(await usersAndLabour(src, dst, ctx)),
    await activeListings(src, dst, ctx),
    await paidAmounts(src, dst),
    await openBookings(src, dst),
    accounting(steps, stats),
  ];
}
