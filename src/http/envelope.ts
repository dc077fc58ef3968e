import type { AppError } from "./errors";

/** The apps' envelope (docs/api-contract.md §1.2–§1.3). Content-Type is always application/json. */
export type SuccessBody<T> = { status: "success"; message?: string; data: T };
export type ErrorBody = {
  status: "error";
  message: string;
  errorCode: string;
  errors?: { field: string; message: string }[];
  retryAfter?: number;
  requestId?: string;
  [extra: string]: unknown;
};

export function successBody<T>(data: T, message?: string): SuccessBody<T> {
  return message === undefined ? { status: "success", data } : { status: "success", message, data };
}

export function errorBody(err: AppError, requestId?: string): ErrorBody {
  return {
    ...err.extra,
    status: "error",
    message: err.message,
    errorCode: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
    ...(requestId ? { requestId } : {}),
  };
}
