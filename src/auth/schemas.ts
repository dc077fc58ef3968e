import { z } from "zod";
import { userRole } from "../db/schema";

/**
 * Request bodies of /api/auth, as the apps send them (docs/api-contract.md §3.1). Validation messages
 * never include the submitted value (validate.ts), so a password can never be echoed back.
 */

/**
 * Upstream's rule: drop a leading +, then 91 (12 digits) or 0/1 (11 digits);
 * what remains must be 10 digits starting 2-9. The DB stores those 10 digits.
 */
export function normalisePhone(raw: string): string | null {
  let d = raw.replace(/[\s()-]/g, "");
  if (d.startsWith("+")) d = d.slice(1);
  if (!/^\d+$/.test(d)) return null;
  if (d.length === 12 && d.startsWith("91")) d = d.slice(2);
  else if (d.length === 11 && (d.startsWith("0") || d.startsWith("1"))) d = d.slice(1);
  return /^[2-9]\d{9}$/.test(d) ? d : null;
}

export const phone = z
  .string()
  .max(20)
  .transform((v, ctx) => {
    const n = normalisePhone(v);
    if (!n) {
      ctx.addIssue({ code: "custom", message: "Please enter a valid 10-digit mobile number" });
      return z.NEVER;
    }
    return n;
  });

export const password = z.string().min(6, "Password must be at least 6 characters").max(128, "Password must be at most 128 characters");
export const otpCode = z.string().regex(/^\d{6}$/, "OTP must be 6 digits");
export const anyRole = z.enum(userRole.enumValues);
export const signupRole = anyRole.exclude(["admin"]);

export const fullName = z
  .string()
  .trim()
  .min(2, "Full name must be 2-100 characters")
  .max(100, "Full name must be 2-100 characters")
  .regex(/^[\p{L}\p{M}\s'.-]+$/u, "Full name can only contain letters, spaces, apostrophes, dots and hyphens");

/** Lower-cased; an empty string means "no e-mail". */
export const email = z
  .string()
  .trim()
  .max(254)
  .transform((v) => v.toLowerCase())
  .pipe(z.union([z.literal(""), z.email("Please enter a valid email address")]));

/**
 * A profile photo as the apps send it: a `data:image/...;base64` URL (stored in R2), an https URL
 * (the user app's default picture, the provider app's own Cloudinary upload), or "" for none.
 * The user app falls back to a raw `file://` URI when base64 conversion fails; at signup that is
 * treated as "no photo" (upstream used its default picture), on profile update it is refused.
 */
export const profilePicInput = z.string().max(8 * 1024 * 1024);

export const signupBody = z.object({
  fullName,
  email: email.optional(),
  phone,
  password,
  role: signupRole.default("user"),
  profilePicUrl: profilePicInput.optional(),
});

export const verifyOtpBody = z.object({ phone, otp: otpCode });
export const resendOtpBody = z.object({ phone, role: signupRole.optional() });
export const loginBody = z.object({ phone, password: z.string().min(1, "Password is required").max(128), role: anyRole.default("user") });
export const forgotPasswordBody = z.object({ phone, role: anyRole.default("user") });
export const forgotVerifyBody = z.object({ phone, otp: otpCode, role: anyRole.default("user") });
export const resetPasswordBody = z.object({
  phone,
  resetToken: z.string().min(16).max(200),
  newPassword: password,
  role: anyRole.default("user"),
});
export const refreshBody = z.object({ refreshToken: z.string().min(1, "Refresh token is required").max(300) });
export const logoutBody = z.object({ refreshToken: z.string().max(300).optional() }).optional();
export const sessionParams = z.object({ sessionId: z.uuid("Invalid session id") });
