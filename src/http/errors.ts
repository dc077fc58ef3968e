/**
 * The one error type. Every failure the API reports has a code from this closed set; the status
 * follows from the code unless a caller overrides it. Unknown errors never reach the client as-is:
 * onError turns them into INTERNAL_ERROR with the request id (details go to the log only).
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  AMOUNT_MISMATCH: 400,
  /** Refunds: the amount is above what is still refundable (paid − refunded − in flight). */
  REFUND_AMOUNT_EXCEEDED: 400,
  ORDER_NOT_PAID: 400,
  PAYMENT_VERIFICATION_ERROR: 400,
  UNAUTHORIZED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_OTP: 400,
  OTP_EXPIRED: 400,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  ACCOUNT_BLOCKED: 403,
  /** The payer asked for a refund the refund policy does not allow (src/refunds/service.ts). */
  REFUND_NOT_ALLOWED: 403,
  /** Labour listings need the customer's paid labour access (₹99 / 7 days). */
  LABOUR_ACCESS_REQUIRED: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  DUPLICATE: 409,
  ALREADY_EXISTS: 409,
  INVALID_STATE_TRANSITION: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  PAYMENT_IN_PROGRESS: 409,
  PAYMENT_PENDING: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  UNPROCESSABLE: 422,
  ACCOUNT_LOCKED: 429,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  NOT_CONFIGURED: 501,
  UPSTREAM_ERROR: 502,
  PAYMENT_GATEWAY_ERROR: 502,
  SERVICE_UNAVAILABLE: 503,
  PAYMENT_GATEWAY_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  // Masked calls: the codes the apps map to UI texts (docs/api-contract.md §3.14), plus socket ack codes.
  CALL_BOOKING_NOT_FOUND: 404,
  CALL_STATUS_NOT_ALLOWED: 403,
  CALLER_NOT_VERIFIED: 403,
  CALLER_PHONE_MISSING: 403,
  RECEIVER_NOT_VERIFIED: 403,
  RECEIVER_PHONE_MISSING: 403,
  PROVIDER_CALLS_DISABLED: 403,
  CALLER_ROLE_MISMATCH: 403,
  CALL_SELF_NOT_ALLOWED: 403,
  CALL_HISTORY_ACCESS_DENIED: 403,
  WEBRTC_PERMISSION_DENIED: 403,
  WEBRTC_INVALID_PAYLOAD: 400,
  WEBRTC_NOT_AUTHENTICATED: 401,
  WEBRTC_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type FieldError = { field: string; message: string };

export type AppErrorOptions = {
  status?: number;
  /** Per-field validation messages; never the submitted values. */
  errors?: FieldError[];
  /** Seconds, as the apps multiply it by 1000 (docs/api-contract.md §1.6). */
  retryAfter?: number;
  /** Extra top-level fields the apps read (e.g. OTP lockout: locked, lockoutTimeRemaining, remainingAttempts). */
  extra?: Record<string, unknown>;
  cause?: unknown;
};

export class AppError extends Error {
  override name = "AppError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors?: FieldError[];
  readonly retryAfter?: number;
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? ERROR_CODES[code];
    this.errors = opts.errors;
    this.retryAfter = opts.retryAfter;
    this.extra = opts.extra;
  }
}

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "Access forbidden") => new AppError("FORBIDDEN", message);
export const conflict = (message: string, code: ErrorCode = "CONFLICT", extra?: Record<string, unknown>) =>
  new AppError(code, message, { extra });
