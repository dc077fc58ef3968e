import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { isConnectionLost, isDbTimeout, isSessionGone, pgCode, pgConstraint } from "../db/client";
import { ConfigError } from "../env";
import { createLogger } from "../lib/log";
import type { AppEnv } from "./context";
import { errorBody } from "./envelope";
import { AppError } from "./errors";

/** Maps anything thrown to the apps' error envelope. Only AppError messages reach the client. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 400 && /Malformed JSON/i.test(err.message)) return new AppError("INVALID_JSON", "Malformed JSON in request body");
    if (err.status === 400 && /Content-Type/i.test(err.message))
      return new AppError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
    if (err.status === 413) return new AppError("PAYLOAD_TOO_LARGE", "Request body is too large");
    if (err.status === 401) return new AppError("UNAUTHORIZED", "Authentication required");
    if (err.status < 500) return new AppError("BAD_REQUEST", "Bad request", { status: err.status });
  }
  if (err instanceof ConfigError) return new AppError("SERVICE_UNAVAILABLE", "Service is misconfigured", { cause: err });
  // The session check that rides on the request's first database call (src/db/client.ts SessionGuard).
  if (isSessionGone(err)) return new AppError("INVALID_TOKEN", "Session is no longer valid");
  switch (pgCode(err)) {
    case "22P02": // invalid text representation, e.g. a malformed uuid that slipped past validation
    case "22007":
    case "22008":
      return new AppError("VALIDATION_ERROR", "Invalid identifier or value", { cause: err });
    // Safety net behind the schemas (src/http/fields.ts): a value the column cannot hold is the
    // caller's input, never a server fault. The message stays generic: the schemas name fields.
    case "22021": // invalid byte sequence (U+0000 in text)
    case "22P05": // untranslatable character (U+0000 in jsonb)
      return new AppError("VALIDATION_ERROR", "Text contains a character that cannot be stored", { cause: err });
    case "22003": // numeric value out of range (e.g. an int4 total)
      return new AppError("VALIDATION_ERROR", "A number is out of the allowed range", { cause: err });
    case "23514": // check violation: a value CHECK (e.g. a price of 0 paise), or a state guard (migrations/0001_guards.sql)
      if (/_(?:transition|immutable|write_once)$/.test(pgConstraint(err) ?? ""))
        return new AppError("INVALID_STATE_TRANSITION", "This record changed meanwhile; reload it and try again", { cause: err });
      return new AppError("VALIDATION_ERROR", "A value is outside what is allowed", { cause: err });
    case "23505":
      return new AppError("DUPLICATE", "This record already exists", { cause: err });
    case "40001": // serialization failure / deadlock: safe for the apps to retry (they retry 503)
    case "40P01":
    case "55P03":
      return new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1, cause: err });
    case "57P01":
    case "08006":
    case "08003":
      return new AppError("SERVICE_UNAVAILABLE", "Database temporarily unavailable", { retryAfter: 2, cause: err });
  }
  if (isDbTimeout(err))
    return new AppError("SERVICE_UNAVAILABLE", "Database is not answering; please retry", { retryAfter: 2, cause: err });
  if (isConnectionLost(err)) return new AppError("SERVICE_UNAVAILABLE", "Database temporarily unavailable", { retryAfter: 2, cause: err });
  if (isDurableObjectReset(err)) return new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1, cause: err });
  return new AppError("INTERNAL_ERROR", "Something went wrong", { cause: err });
}

/**
 * A Durable Object call failed because the object was reset or overloaded (deploy, eviction,
 * crash): workerd marks these `retryable`/`overloaded`/`durableObjectReset`. The object's own
 * storage decides what happened, so a retry is safe.
 */
function isDurableObjectReset(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const e = err as { retryable?: unknown; overloaded?: unknown; durableObjectReset?: unknown; message?: unknown };
  if (e.retryable === true || e.overloaded === true || e.durableObjectReset === true) return true;
  return typeof e.message === "string" && /durable object (?:reset|storage|is overloaded)|broken\.outputGateBroken/i.test(e.message);
}

const INPUT_SQLSTATES = new Set(["22P02", "22007", "22008", "22021", "22P05", "22003", "23514"]);

export const onError: ErrorHandler<AppEnv> = (err, c: Context<AppEnv>) => {
  const appErr = toAppError(err);
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const log = c.get("log") ?? createLogger("info", { requestId });
  if (appErr.status >= 500) {
    log.error("request failed", {
      path: c.req.path,
      method: c.req.method,
      code: appErr.code,
      error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
    });
  } else if (INPUT_SQLSTATES.has(pgCode(err) ?? "")) {
    // Bad input only the database caught: a schema missed an input class, worth a warning.
    log.warn("request rejected by the database", {
      path: c.req.path,
      code: appErr.code,
      sqlstate: pgCode(err),
      constraint: pgConstraint(err),
    });
  } else {
    log.info("request rejected", { path: c.req.path, code: appErr.code, status: appErr.status });
  }
  if (appErr.retryAfter !== undefined) c.header("Retry-After", String(appErr.retryAfter));
  return c.json(errorBody(appErr, appErr.status >= 500 ? requestId : undefined), appErr.status as 400);
};

export const notFoundHandler = (c: Context<AppEnv>) =>
  c.json(errorBody(new AppError("ROUTE_NOT_FOUND", `Route ${c.req.method} ${c.req.path} not found`)), 404);
