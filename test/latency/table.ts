/**
 * The round-trip table: what each call of the apps' contract costs in database round trips (the
 * `X-Db-Round-Trips` response header: SQL-over-HTTP calls, plus the WebSocket handshake and every
 * statement of an interactive transaction), session check included. Each row seeds what its call
 * needs, sends it once and asserts the status and the exact count, so a change that adds a round
 * trip (or saves one) shows up here. Rows live beside the capability's other rows in
 * round-trips.test.ts; `roundTripTable` turns a list of rows into tests.
 */
import { describe, expect, it } from "vitest";
import { CONTRACT_CALLS } from "../e2e/contract-calls";
import { type ApiResponse, api } from "../harness";

/** The measured request; the method comes from the row's `call`. */
export type RoundTripRequest = { path: string; token?: string; body?: unknown; headers?: Record<string, string> };

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
  check?: (r: ApiResponse) => void;
  /** A route the apps do not call (other clients, admin tools): measured, not part of the contract. */
  offContract?: true;
};

export const rowName = (row: RoundTripRow) => `${row.call}${row.variant ? ` (${row.variant})` : ""}`;

export function roundTripTable(name: string, rows: RoundTripRow[]): void {
  describe(name, () => {
    for (const row of rows) {
      it(`${rowName(row)}: ${row.roundTrips} round trip${row.roundTrips === 1 ? "" : "s"}`, async () => {
        const req = await row.request();
        const method = row.call.split(" ")[0]!;
        const r = await api(method, req.path, { token: req.token, body: req.body, headers: req.headers });
        expect(r.status, r.text.slice(0, 500)).toBe(row.status ?? 200);
        row.check?.(r);
        expect(Number(r.headers.get("x-db-round-trips")), rowName(row)).toBe(row.roundTrips);
      });
    }
  });
}

/**
 * Every call of the contract has a row, or is named in `pending` (calls whose rows are not in the
 * table yet); a pending call that has a row, or a row that names no contract call, is a mistake.
 */
export function coverageTest(rows: RoundTripRow[], pending: string[]): void {
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
