import type { HttpDb } from "../db/client";
import type { Config } from "../env";
import type { Logger } from "../lib/log";

/** Where a payment request came from: stored with the order and its events, never used to decide anything. */
export type ClientFacts = {
  ip: string | null;
  userAgent: string | null;
  platform: string | null;
  appVersion: string | null;
  deviceId: string | null;
};

/**
 * What a payment flow needs from the request that started it: the request's database handle, the
 * bindings that reach an order's Durable Object and the payment rate limiter, the caller's client
 * facts, and a place for work that must neither slow nor fail the answer (risk scoring, security
 * events). Built by the routes (payments/routes.ts) from the Hono context, so the flows stay free
 * of HTTP.
 */
export type PaymentRequest = {
  db: HttpDb;
  env: Env;
  config: Config;
  log: Logger;
  client: ClientFacts;
  /** The request path, for security events. */
  route: string;
  background(work: Promise<unknown>): void;
};
