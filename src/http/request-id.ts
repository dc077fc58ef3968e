/**
 * X-Request-Id: a caller's own id is kept when it looks like one (so a client, the edge and the core
 * log the same id for a request), anything else is replaced by a fresh UUID.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFrom(incoming: string | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}
