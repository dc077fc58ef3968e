import { sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import type { Config } from "../env";
import { chunk, EXPO_RECEIPT_CHUNK, getExpoReceipts } from "./expo";

/**
 * Expo push receipts (cron, every 10 minutes). Expo advises waiting ~15 minutes after sending and
 * keeps receipts for about a day, so tickets between 15 minutes and 24 hours old are asked for,
 * each at most once per 10 minutes. ok → `delivered`; an error → `failed` with its code, and
 * DeviceNotRegistered deactivates the token (the ticket said ok, the device has since gone).
 * Receipts Expo does not have yet only stamp `receipt_checked_at`.
 */
const SETTLE_MINUTES = 15;
const RECHECK_MINUTES = 10;
const PER_RUN = 1500;

export async function checkPushReceipts(db: HttpDb, config: Pick<Config, "EXPO_PUSH_URL" | "EXPO_ACCESS_TOKEN">, at: Date) {
  const due = await db.execute<{ id: string; ticket_id: string }>(sql`
    select id, ticket_id from push_deliveries
    where status = 'sent' and ticket_id is not null
      and created_at < ${at.toISOString()}::timestamptz - make_interval(mins => ${SETTLE_MINUTES})
      and created_at > ${at.toISOString()}::timestamptz - interval '1 day'
      and (receipt_checked_at is null
           or receipt_checked_at < ${at.toISOString()}::timestamptz - make_interval(mins => ${RECHECK_MINUTES}))
    order by created_at
    limit ${PER_RUN}`);
  let delivered = 0;
  let failed = 0;
  let pending = 0;
  for (const part of chunk(due.rows, EXPO_RECEIPT_CHUNK)) {
    const receipts = await getExpoReceipts(
      config,
      part.map((r) => r.ticket_id),
    );
    const rows = part.map((r) => {
      const rc = receipts[r.ticket_id];
      if (!rc) {
        pending++;
        return { id: r.id, status: "sent", error_code: null, error_message: null };
      }
      if (rc.status === "ok") {
        delivered++;
        return { id: r.id, status: "delivered", error_code: null, error_message: null };
      }
      failed++;
      return {
        id: r.id,
        status: "failed",
        error_code: rc.details?.error ?? "UnknownError",
        error_message: (rc.message ?? "").slice(0, 500),
      };
    });
    await db.execute(sql`
      with r as (
        select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as r(id uuid, status push_delivery_status, error_code text, error_message text)
      ), upd as (
        update push_deliveries d set status = r.status, error_code = r.error_code, error_message = r.error_message,
          receipt_checked_at = now()
        from r where d.id = r.id and d.status = 'sent'
        returning d.push_token_id, r.error_code
      )
      update push_tokens t set is_active = false, deactivated_reason = 'DeviceNotRegistered'
      from upd where upd.error_code = 'DeviceNotRegistered' and t.id = upd.push_token_id and t.is_active`);
  }
  return { checked: due.rows.length, delivered, failed, pending };
}
