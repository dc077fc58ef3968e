import { Hono } from "hono";
import { z } from "zod";
import { principalOf, requireAuth } from "../http/auth";
import type { AppContext, AppEnv } from "../http/context";
import { AppError } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { routeLimits } from "../http/route-limits";
import { body, params } from "../http/validate";
import { clientIp } from "../lib/client-ip";
import { clientMeta } from "../sessions/request";
import { SIGNUP } from "./limits";
import { Flag, LoggedIn, Me, OtpSent, PhoneOnly, Refreshed, ResetToken, Sessions, SignedUp } from "./responses";
import {
  forgotPasswordBody,
  forgotVerifyBody,
  loginBody,
  logoutBody,
  refreshBody,
  resendOtpBody,
  resetPasswordBody,
  sessionParams,
  signupBody,
  verifyOtpBody,
} from "./schemas";
import * as auth from "./service";

/** /api/auth: signup, OTP, login, refresh, password reset, sessions (docs/api-contract.md §3.1). */
export const authRoutes = new Hono<AppEnv>();

const tags = ["auth"];

function deps(c: AppContext): auth.AuthDeps {
  return {
    db: c.get("db"),
    config: c.get("config"),
    log: c.get("log"),
    env: c.env,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    meta: clientMeta(c),
  };
}

/** Per-address throttle on the unauthenticated endpoints (AUTH_LIMITER: 20 per minute per key). */
async function throttle(c: AppContext, bucket: string, message = "Too many requests. Please try again in a minute."): Promise<void> {
  const { success } = await c.env.AUTH_LIMITER.limit({ key: `${bucket}:${clientIp(c) ?? "unknown"}` });
  if (!success) throw new AppError("RATE_LIMITED", message, { retryAfter: 60 });
}

authRoutes.post(
  "/signup",
  describe({ summary: "Start a signup: stores the pending account and sends an OTP", tags, response: OtpSent }),
  routeLimits(SIGNUP),
  body(signupBody),
  async (c) => {
    await throttle(c, "signup", "Too many signup attempts. Please try again in a minute.");
    const data = await auth.signup(deps(c), c.req.valid("json"));
    return ok(c, data, { message: "OTP sent successfully to your mobile number. Please verify to complete signup." });
  },
);

authRoutes.post(
  "/verify-otp",
  describe({ summary: "Complete a signup with the OTP; returns the token pair and the user", tags, response: SignedUp }),
  body(verifyOtpBody),
  async (c) => {
    await throttle(c, "otp");
    const data = await auth.verifySignupOtp(deps(c), c.req.valid("json"));
    return ok(c, data, { message: "OTP verified and signup completed successfully" });
  },
);

authRoutes.post(
  "/resend-otp",
  describe({ summary: "Send a fresh signup OTP (30 s cooldown)", tags, response: PhoneOnly }),
  body(resendOtpBody),
  async (c) => {
    await throttle(c, "otp-send");
    const data = await auth.resendSignupOtp(deps(c), c.req.valid("json"));
    return ok(c, data, { message: "OTP sent successfully" });
  },
);

authRoutes.post(
  "/login",
  describe({ summary: "Log in with phone, password and role", tags, response: LoggedIn }),
  body(loginBody),
  async (c) => {
    await throttle(c, "login", "Too many login attempts from this network. Please try again in a minute.");
    const data = await auth.login(deps(c), c.req.valid("json"));
    return ok(c, data, { message: "Login successful" });
  },
);

authRoutes.post(
  "/forgot-password",
  describe({ summary: "Send a password-reset OTP", tags, response: PhoneOnly }),
  body(forgotPasswordBody),
  async (c) => {
    await throttle(c, "otp-send");
    const data = await auth.forgotPassword(deps(c), c.req.valid("json"));
    return ok(c, data, { message: "OTP sent to your mobile number" });
  },
);

authRoutes.post(
  "/forgot-password/verify",
  describe({ summary: "Exchange a password-reset OTP for a one-time reset token", tags, response: ResetToken }),
  body(forgotVerifyBody),
  async (c) => {
    await throttle(c, "otp");
    const data = await auth.verifyResetOtp(deps(c), c.req.valid("json"));
    return ok(c, data, { message: "OTP verified" });
  },
);

authRoutes.post(
  "/forgot-password/reset",
  describe({ summary: "Set a new password with the reset token; ends every session", tags, response: Flag("reset") }),
  body(resetPasswordBody),
  async (c) => {
    await throttle(c, "reset");
    await auth.resetPassword(deps(c), c.req.valid("json"));
    return ok(c, { reset: true }, { message: "Password has been reset successfully. Please login again with your new password." });
  },
);

authRoutes.post(
  "/refresh",
  describe({ summary: "Rotate a refresh token; concurrent duplicates within 10 s get the same pair", tags, response: Refreshed }),
  body(refreshBody),
  async (c) => {
    const data = await auth.refresh(deps(c), c.req.valid("json").refreshToken);
    return ok(c, data, { message: "Token refreshed successfully" });
  },
);

authRoutes.get("/me", describe({ summary: "The signed-in user", tags, response: Me }), requireAuth(), async (c) => {
  const user = await auth.me(c.get("db").http, principalOf(c).userId);
  return ok(c, { user });
});

authRoutes.post(
  "/logout",
  describe({ summary: "End this session (and the session of a refresh token in the body)", tags, response: Flag("loggedOut") }),
  requireAuth(),
  async (c) => {
    const raw = await c.req.json().catch(() => undefined);
    const parsed = logoutBody.safeParse(raw ?? undefined);
    await auth.logout(deps(c), principalOf(c), parsed.success ? parsed.data?.refreshToken : undefined);
    return ok(c, { loggedOut: true }, { message: "Logged out successfully" });
  },
);

authRoutes.post(
  "/logout-all",
  describe({ summary: "End every session of this account", tags, response: z.object({ sessionsRevoked: z.number().int() }) }),
  requireAuth(),
  async (c) => {
    const n = await auth.logoutAll(deps(c), principalOf(c).userId);
    return ok(c, { sessionsRevoked: n }, { message: `Successfully logged out from all devices (${n} sessions)` });
  },
);

authRoutes.get("/sessions", describe({ summary: "Live sessions of this account", tags, response: Sessions }), requireAuth(), async (c) => {
  const p = principalOf(c);
  const list = await auth.listSessions(c.get("db").http, p.userId, p.sessionId);
  return ok(c, { sessions: list, total: list.length });
});

authRoutes.delete(
  "/sessions/:sessionId",
  describe({ summary: "End one session of this account", tags, response: Flag("revoked") }),
  requireAuth(),
  params(sessionParams),
  async (c) => {
    await auth.revokeSession(deps(c), principalOf(c).userId, c.req.valid("param").sessionId);
    return ok(c, { revoked: true }, { message: "Session revoked successfully" });
  },
);
