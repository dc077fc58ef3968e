import { z } from "zod";
import { callLogStatus, callPartyRole } from "../db/schema";
import { text } from "../http/fields";

/** Request bodies of /api/calls (docs/api-contract.md §3.14). */
export const InitiateCallBody = z.object({
  bookingId: z.uuid(),
  callerType: z.enum(callPartyRole.enumValues).optional(),
});

const diagnostics = z.record(z.string(), z.unknown()).optional();

export const CallLogBody = z.object({
  bookingId: z.uuid(),
  /** Client-counted seconds; the apps send an integer. */
  duration: z.coerce.number().int().min(0).max(86_400).default(0),
  callerType: z.enum(callPartyRole.enumValues).optional(),
  status: z.enum(callLogStatus.enumValues).default("completed"),
  endReason: text().max(200).optional(),
  connectionQuality: diagnostics,
  errorDetails: diagnostics,
  metrics: diagnostics,
});

export const InitiateCallData = z.object({
  bookingId: z.uuid(),
  callerId: z.uuid(),
  callerName: z.string(),
  receiverId: z.uuid(),
  receiverName: z.string(),
  serviceName: z.string(),
});

export const CallLogged = z.object({ callLogId: z.uuid() });
