import { z } from "zod";
import { TokenPair } from "../sessions/schemas";
import { UserView } from "../users/schemas";

/** Response data of /api/auth (docs/api-contract.md §2.1, §2.4, §3.1): the apps store the token pair and the user. */

export const OtpSent = z.object({ phone: z.string(), expiresInSeconds: z.number().int(), resendAfterSeconds: z.number().int() });
export const PhoneOnly = z.object({ phone: z.string() });
/** The provider app stores `registeredServices` from the signup answer; a new account has none. */
export const SignedUp = TokenPair.extend({ user: UserView.extend({ registeredServices: z.array(z.string()) }) });
export const LoggedIn = TokenPair.extend({ user: UserView });
export const Refreshed = TokenPair.extend({ user: UserView.nullable() });
export const ResetToken = z.object({ resetToken: z.string(), expiresAt: z.string() });
export const Me = z.object({ user: UserView });
export const Session = z.object({
  id: z.uuid(),
  deviceName: z.string(),
  ipAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  createdAt: z.string(),
  lastActivity: z.string(),
  isCurrent: z.boolean(),
});
export const Sessions = z.object({ sessions: z.array(Session), total: z.number().int() });
export const Flag = <K extends string>(key: K) => z.object({ [key]: z.literal(true) } as { [P in K]: z.ZodLiteral<true> });
