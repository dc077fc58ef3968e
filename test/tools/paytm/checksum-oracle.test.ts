/**
 * The full checksum oracle on Node (test/payments/checksum-oracle.ts): our WebCrypto PaytmChecksum
 * and the official npm `paytmchecksum@1.5.1` must sign byte for byte alike and accept each other's
 * checksums. It runs here, not in workerd, because workerd's node:crypto streams base64 differently
 * and the official library's own output is malformed there (test/payments/checksum-oracle.test.ts).
 */
import { describe, expect, it } from "vitest";
import { runChecksumOracle } from "../../payments/checksum-oracle.ts";

describe("PaytmChecksum against the official paytmchecksum package, on Node", () => {
  it("published vectors, 500 randomised JSON and form payloads both ways, legacy rules, key lengths and junk: no disagreement", async () => {
    const report = await runChecksumOracle({ payloads: 500 });
    expect(report.failures, `seed ${report.seed}`).toEqual([]);
    expect(report.checks).toBeGreaterThan(2_500);
  });
});
