/**
 * The round-trip table: what each call of the apps' contract costs in database round trips (the
 * `X-Db-Round-Trips` response header: SQL-over-HTTP calls, plus the WebSocket handshake and every
 * statement of an interactive transaction), session check included. Each row seeds what its call
 * needs, sends it once and asserts the status and the exact count, so a change that adds a round
 * trip (or saves one) shows up here. Rows live beside the capability's other rows in
 * round-trips.test.ts; `roundTripTable` turns a list of rows into tests.
 *
 * A Durable Object the call waits on (a payment order's PaymentOrder) uses a database handle of its
 * own, which the header does not count: a row names those round trips in `object`.
 */
import { describe, expect, it } from "vitest";
import { CONTRACT_CALLS } from "../e2e/contract-calls";
import { type ApiResponse, api } from "../harness";

/** The measured request; the method comes from the row's `call`. `rawBody` is sent as is (a form, Engine.IO packets). */
export type RoundTripRequest = { path: string; token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> };

export type RoundTripRow = {
  /** The contract entry, "METHOD /path" exactly as in test/e2e/contract-calls.ts. */
  call: string;
  /** What this row measures when a call has several paths (cache miss, with a photo…). */
  variant?: string;
  /** Database round trips of the call, session check included. */
  roundTrips: number;
  /** The expected HTTP status (200 by default): a row must measure the path it names, not an error. */
  status?: number;
  /** Seeds what the call needs (not measured) and returns the request to measure. */
  request: () => Promise<RoundTripRequest>;
  /** More assertions on the answer, e.g. that a cached read really missed the cache. */
  check?: (r: ApiResponse, req: RoundTripRequest) => void | Promise<void>;
  /**
   * Round trips of the Durable Object the call waits on, on its own database handle (not in the
   * header): what `measure` reads from the object after the call.
   */
  object?: { name: string; roundTrips: number; measure: (req: RoundTripRequest, r: ApiResponse) => Promise<number | undefined> };
  /** A route the apps do not call (other clients, admin tools): measured, not part of the contract. */
  offContract?: true;
};

export const rowName = (row: RoundTripRow) => `${row.call}${row.variant ? ` (${row.variant})` : ""}`;

const plural = (n: number) => `${n} round trip${n === 1 ? "" : "s"}`;

export function roundTripTable(name: string, rows: RoundTripRow[]): void {
  describe(name, () => {
    for (const row of rows) {
      const inObject = row.object ? `, then ${row.object.roundTrips} in its ${row.object.name}` : "";
      it(`${rowName(row)}: ${plural(row.roundTrips)}${inObject}`, async () => {
        const req = await row.request();
        const method = row.call.split(" ")[0]!;
        const r = await api(method, req.path, { token: req.token, body: req.body, rawBody: req.rawBody, headers: req.headers });
        expect(r.status, r.text.slice(0, 500)).toBe(row.status ?? 200);
        await row.check?.(r, req);
        // A string compare: a response without the header fails (Number(null) would read as 0).
        expect(r.headers.get("x-db-round-trips"), rowName(row)).toBe(String(row.roundTrips));
        if (row.object) expect(await row.object.measure(req, r), `${rowName(row)}: ${row.object.name}`).toBe(row.object.roundTrips);
      });
    }
  });
}

/**
 * Every call of the contract has a row, or is named in `pending` (calls whose rows are not in the
 * table yet); a pending call that has a row, or a row that names no contract call, is a mistake.
 */
export function coverageTest(rows: RoundTripRow[], pending: string[] = []): void {
  it("every call of the apps' contract has a row", () => {
    const contract = new Set(CONTRACT_CALLS.filter((c) => !c.notReachable).map((c) => c.key));
    const covered = new Set(rows.filter((r) => !r.offContract).map((r) => r.call));
    expect(
      [...covered].filter((k) => !contract.has(k)),
      "rows naming no contract call",
    ).toEqual([]);
    expect(
      pending.filter((k) => covered.has(k)),
      "pending calls that have rows",
    ).toEqual([]);
    expect(
      [...contract].filter((k) => !covered.has(k) && !pending.includes(k)),
      "contract calls without a row",
    ).toEqual([]);
  });
}
