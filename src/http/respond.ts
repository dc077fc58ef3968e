import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppContext } from "./context";
import { successBody } from "./envelope";

/** Success in the apps' envelope. `extraTop` is for the few responses the apps read at the top level. */
export function ok<T>(
  c: AppContext,
  data: T,
  opts: { message?: string; status?: ContentfulStatusCode; extraTop?: Record<string, unknown> } = {},
) {
  return c.json({ ...successBody(data, opts.message), ...opts.extraTop }, opts.status ?? 200);
}
