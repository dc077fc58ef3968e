import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { type ZodType, z } from "zod";
import { AppError, type FieldError } from "./errors";
import { nulPath } from "./fields";
import { withMeta } from "./meta";

/**
 * zod validation for every body, query and param, with failures in the apps' envelope:
 * 400 VALIDATION_ERROR and `errors: [{field, message}]` (the provider signup screen reads that shape).
 * Submitted values are never echoed, so a bad password cannot leak into a response or a log.
 */
function toFieldErrors(issues: readonly { path: PropertyKey[]; message: string }[]): FieldError[] {
  return issues.map((i) => ({ field: i.path.map(String).join(".") || "(body)", message: i.message }));
}

function firstMessage(errors: FieldError[]): string {
  const e = errors[0];
  return e ? (e.field === "(body)" ? e.message : `${e.field}: ${e.message}`) : "Invalid request";
}

/**
 * Postgres can store U+0000 in no text or jsonb column (22021 / 22P05), so no field of any route may
 * carry it: refused before the route's own schema runs, with the field's path.
 */
const refuseNul = z.unknown().superRefine((value, ctx) => {
  const path = nulPath(value);
  if (path) ctx.addIssue({ code: "custom", path, message: "must not contain the NUL character (\\u0000)" });
});

function validator<T extends ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  // Same output type as `schema`: the guard only adds issues.
  const guarded = refuseNul.pipe(schema) as unknown as T;
  const mw = zValidator(target, guarded, (result) => {
    if (!result.success) {
      const errors = toFieldErrors(result.error.issues);
      throw new AppError("VALIDATION_ERROR", firstMessage(errors), { errors });
    }
  });
  // The document reads the request schema from the same middleware (parameters or request body).
  return withMeta(mw, { request: { [target]: schema } });
}

/**
 * JSON bodies: a wrong Content-Type is a clear 415 (Hono's validator would otherwise validate an
 * empty object and report missing fields, which misleads the caller).
 */
export const body = <T extends ZodType>(schema: T) => {
  const mw = validator("json", schema);
  const wrapped = (async (c, next) => {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/([a-z0-9.+-]+\+)?json\b/i.test(type)) {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
    }
    return mw(c, next);
  }) as typeof mw;
  return Object.assign(wrapped, mw);
};
export const query = <T extends ZodType>(schema: T) => validator("query", schema);
export const params = <T extends ZodType>(schema: T) => validator("param", schema);
