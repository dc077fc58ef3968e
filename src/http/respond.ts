import type { Context, Env } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { successBody } from "./envelope";
import type { Contract } from "./meta";

/** What describe({ response, extraTop }) declared for this route; `unknown` where it declared nothing. */
export type DataOf<E extends Env> = E extends { Contract?: Contract<infer D, infer _X> } ? D : unknown;
/** Top-level extras: only what describe({ extraTop }) declared, once the route declared its response. */
export type ExtraTopOf<E extends Env> = E extends { Contract?: Contract<infer D, infer X> }
  ? unknown extends X
    ? unknown extends D
      ? Record<string, unknown>
      : never
    : X
  : Record<string, unknown>;

/**
 * Success in the apps' envelope. `data` must have the type of the route's response schema
 * (describe({ response })), so the schema is the one place an answer's shape is mapped.
 * `extraTop` is for the few responses the apps read at the top level.
 */
export function ok<E extends Env>(
  c: Context<E>,
  data: DataOf<E>,
  opts: { message?: string; status?: ContentfulStatusCode; extraTop?: ExtraTopOf<E> } = {},
) {
  return c.json({ ...successBody(data, opts.message), ...opts.extraTop }, opts.status ?? 200);
}
