import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../env";
import { createLogger } from "../lib/log";
import type { AppEnv } from "./context";
import { errorBody } from "./envelope";
import { AppError } from "./errors";

/**
 * Anything thrown, as the apps' error envelope. Only AppError messages reach the client. This part
 * knows no database, so the edge worker uses it as it is; the core adds what it knows of database
 * errors (src/http/on-error.ts).
 */
export type ErrorKnowledge = {
  /** An AppError for an error this worker recognises; undefined for the rest. */
  toAppError(err: unknown): AppError | undefined;
  /** What to log when a 4xx was bad input only a lower layer caught (a schema missed an input class). */
  inputRejection?(err: unknown): Record<string, unknown> | undefined;
};

export function toAppErrorWith(err: unknown, known?: ErrorKnowledge): AppError {
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
  const recognised = known?.toAppError(err);
  if (recognised) return recognised;
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

/** The app's onError: one log line (error, warning or info by what happened) and the envelope. */
export function errorHandler(known?: ErrorKnowledge): ErrorHandler<AppEnv> {
  return (err, c: Context<AppEnv>) => {
    const appErr = toAppErrorWith(err, known);
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    const log = c.get("log") ?? createLogger("info", { requestId });
    const rejection = appErr.status < 500 ? known?.inputRejection?.(err) : undefined;
    if (appErr.status >= 500) {
      log.error("request failed", {
        path: c.req.path,
        method: c.req.method,
        code: appErr.code,
        error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
      });
    } else if (rejection) {
      log.warn("request rejected by the database", { path: c.req.path, code: appErr.code, ...rejection });
    } else {
      log.info("request rejected", { path: c.req.path, code: appErr.code, status: appErr.status });
    }
    if (appErr.retryAfter !== undefined) c.header("Retry-After", String(appErr.retryAfter));
    return c.json(errorBody(appErr, appErr.status >= 500 ? requestId : undefined), appErr.status as 400);
  };
}

export const notFoundHandler = (c: Context<AppEnv>) =>
  c.json(errorBody(new AppError("ROUTE_NOT_FOUND", `Route ${c.req.method} ${c.req.path} not found`)), 404);
