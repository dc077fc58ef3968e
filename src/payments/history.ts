import { and, desc, eq, sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { paymentOrders, providerServices, servicesMaster } from "../db/schema";
import { AppError } from "../http/errors";
import type { PaymentOrderRow, Purpose } from "./orders";
import type { AppPaymentStatus, PaymentStatusData, TransactionHistoryData } from "./schemas";

/** The payer's orders as the apps read them: the history lists and one order's status. */

/** The apps' status words (upstream: pending/completed/failed); the ledger keeps its own. */
export function appStatus(status: PaymentOrderRow["status"]): AppPaymentStatus {
  return status === "paid" ? "completed" : status === "created" ? "pending" : status;
}

/** An instant as the apps read it (what JSON makes of a Date). */
const instant = (d: Date | null) => d?.toISOString() ?? null;

/** One page of the payer's orders of one purpose and their total: one round trip (a batch of two reads). */
export async function transactionHistory(
  db: HttpDb,
  userId: string,
  purpose: Purpose,
  page: number,
  limit: number,
): Promise<TransactionHistoryData> {
  const where = and(eq(paymentOrders.userId, userId), eq(paymentOrders.purpose, purpose));
  const [rows, [total]] = await db.batch([
    db
      .select({
        o: paymentOrders,
        serviceName: servicesMaster.name,
        serviceStatus: providerServices.status,
        serviceExpiry: providerServices.expiresAt,
      })
      .from(paymentOrders)
      .leftJoin(providerServices, eq(providerServices.id, paymentOrders.providerServiceId))
      .leftJoin(servicesMaster, eq(servicesMaster.id, providerServices.serviceId))
      .where(where)
      .orderBy(desc(paymentOrders.createdAt))
      .limit(limit)
      .offset((page - 1) * limit),
    db.select({ n: sql<number>`count(*)::int` }).from(paymentOrders).where(where),
  ]);
  const n = total?.n ?? 0;
  return {
    transactions: rows.map(({ o, serviceName, serviceStatus, serviceExpiry }) => ({
      id: o.id,
      order_id: o.paytmOrderId,
      amount: o.amountPaise / 100,
      amount_paise: o.amountPaise,
      currency: o.currency,
      status: appStatus(o.status),
      payment_method: "paytm",
      transaction_id: o.gatewayTxnId,
      provider_service_id: o.providerServiceId,
      service_name: purpose === "labour_access" ? "labors" : serviceName,
      service_status: serviceStatus,
      service_expiry: instant(serviceExpiry),
      validity_days: o.validityDays,
      start_date: instant(o.grantedFrom),
      end_date: instant(o.grantedUntil),
      created_at: o.createdAt.toISOString(),
      completed_at: instant(o.paidAt),
    })),
    pagination: { currentPage: page, totalPages: Math.ceil(n / limit), total: n, limit, hasMore: page * limit < n },
  };
}

/** One of the payer's orders as recorded (verify is what asks Paytm). Someone else's is a plain 404. */
export async function paymentStatus(db: HttpDb, userId: string, paytmOrderId: string): Promise<PaymentStatusData> {
  const [o] = await db
    .select()
    .from(paymentOrders)
    .where(and(eq(paymentOrders.paytmOrderId, paytmOrderId), eq(paymentOrders.userId, userId)))
    .limit(1);
  if (!o) throw new AppError("NOT_FOUND", "Payment order not found");
  return {
    transaction: {
      id: o.id,
      order_id: o.paytmOrderId,
      purpose: o.purpose,
      provider_service_id: o.providerServiceId,
      amount: o.amountPaise / 100,
      amount_paise: o.amountPaise,
      currency: o.currency,
      status: appStatus(o.status),
      order_status: o.status,
      transaction_id: o.gatewayTxnId,
      validity_days: o.validityDays,
      start_date: instant(o.grantedFrom),
      end_date: instant(o.grantedUntil),
      expires_at: o.expiresAt.toISOString(),
      created_at: o.createdAt.toISOString(),
      completed_at: instant(o.paidAt),
    },
  };
}
