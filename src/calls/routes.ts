import { Hono } from "hono";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body } from "../http/validate";
import { CallLogBody, CallLogged, InitiateCallBody, InitiateCallData } from "./schemas";
import { checkCallPermission, recordCallLog } from "./service";

/**
 * /api/calls: masked call initiation and call logs. `initiate` only checks and describes the call
 * (names, never phone numbers); the call itself starts with the socket's `call:initiate`, which the
 * booking's CallRoom checks again.
 */
export const callsRoutes = new Hono<AppEnv>();
const tags = ["calls"];

callsRoutes.post(
  "/initiate",
  describe({
    summary: "Check that a call about this booking is allowed and return both parties' names",
    tags,
    response: InitiateCallData,
  }),
  requireAuth(),
  body(InitiateCallBody),
  async (c) => {
    const input = c.req.valid("json");
    const me = principalOf(c);
    const p = await checkCallPermission(c.get("db").http, { bookingId: input.bookingId, userId: me.userId, callerType: input.callerType });
    return ok(
      c,
      {
        bookingId: p.bookingId,
        callerId: p.caller.id,
        callerName: p.caller.name,
        receiverId: p.receiver.id,
        receiverName: p.receiver.name,
        serviceName: p.serviceName,
      },
      { message: "Call can be initiated" },
    );
  },
);

callsRoutes.post(
  "/log",
  describe({ summary: "Record the app's after-call report (a party of the booking only)", tags, response: CallLogged, status: [201] }),
  requireAuth(),
  body(CallLogBody),
  async (c) => {
    const input = c.req.valid("json");
    const me = principalOf(c);
    const row = await recordCallLog(c.get("db").http, {
      bookingId: input.bookingId,
      userId: me.userId,
      durationSeconds: input.duration,
      status: input.status,
      endReason: input.endReason,
      connectionQuality: input.connectionQuality,
      errorDetails: input.errorDetails,
      metrics: input.metrics,
    });
    return ok(c, { callLogId: row.id }, { message: "Call logged", status: 201 });
  },
);
