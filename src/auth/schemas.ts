import { z } from "zod";
import { userRole } from "../db/schema";
import { email, fullName, phone, profilePicInput } from "../http/fields";

/**
 * Request bodies of /api/auth, as the apps send them (docs/api-contract.md §3.1). Validation messages
 * never include the submitted value (validate.ts), so a password can never be echoed back.
 */

export const password = z.string().min(6, "Password must be at least 6 characters").max(128, "Password must be at most 128 characters");
export const otpCode = z.string().regex(/^\d{6}$/, "OTP must be 6 digits");
export const anyRole = z.enum(userRole.enumValues);
export const signupRole = anyRole.exclude(["admin"]);

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
