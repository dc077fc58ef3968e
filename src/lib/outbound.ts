/**
 * Every call that leaves the worker (Paytm, SMS, Expo, geocoder) goes through here: one overall
 * budget of at most 30 s, so a slow upstream can never hold a request open past the apps' own timeout.
 */
export const OUTBOUND_BUDGET_MS = 30_000;

export class OutboundTimeout extends Error {
  override name = "OutboundTimeout";
}

export async function outboundFetch(
  input: string | URL | Request,
  init: RequestInit = {},
  opts: { timeoutMs?: number; fetchImpl?: typeof fetch } = {},
): Promise<Response> {
  const timeoutMs = Math.min(opts.timeoutMs ?? OUTBOUND_BUDGET_MS, OUTBOUND_BUDGET_MS);
  const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  try {
    return await (opts.fetchImpl ?? fetch)(input, { ...init, signal });
  } catch (err) {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      throw new OutboundTimeout(`outbound call timed out after ${timeoutMs} ms`);
    }
    throw err;
  }
}
