import { describe, expect, it } from "vitest";
import { generateSignature, verifySignature } from "../../src/paytm/checksum";
import { runChecksumOracle } from "./checksum-oracle";
import { officialPaytmChecksum, repairWorkerdBase64 } from "./support";

/**
 * The official npm `paytmchecksum@1.5.1` as an oracle, inside workerd (nodejs_compat).
 *
 * It runs, but workerd's node:crypto `Cipher.update(data, 'binary', 'base64')` base64-encodes each
 * chunk on its own instead of carrying the partial 3-byte group into `final()` as Node does. The
 * official library concatenates update + final, so inside workerd it emits two padded base64
 * strings glued together ("…rQ==8pIa…==") instead of one 108-char checksum. The ciphertext BYTES
 * are right (asserted below); only the text is malformed. So the full randomized oracle
 * (`runChecksumOracle`, both directions, fixed-salt byte equality) runs on Node, in
 * test/tools/paytm/checksum-oracle.test.ts. Here we run every direction that
 * does not depend on that encoding bug, and pin the bug itself so we notice when workerd fixes it.
 */
const KEY = "XKJq@8sRmT2#vB6w";
const V1 = '{"mid":"TESTMID00000000000001","orderId":"ORD_0001"}';
const V1_CHECKSUM = "vsmSPRPvACP76SeF5sSOysRaq6nDdubiuj+tiaXj9tXBlgW+iPshPHa6wQ6h1Lx5r+1v13d9aPwBpqG1B7nYrfKSGiuB+FSVfJvi0iwT05s=";

describe("PaytmChecksum: WebCrypto port vs the official paytmchecksum package, in workerd", () => {
  it("official generation inside workerd: same ciphertext bytes as test vector V1, malformed base64 text (workerd bug)", () => {
    const official = officialPaytmChecksum();
    const raw = official.calculateChecksum(V1, KEY, "aB3+");
    expect(raw).not.toBe(V1_CHECKSUM); // if this fails, workerd fixed Cipher base64 streaming: run the full oracle here
    expect(repairWorkerdBase64(raw)).toBe(V1_CHECKSUM);
  });

  it("ours → official: the official verifier accepts our checksums for randomized JSON and form payloads; tampering fails", async () => {
    const official = officialPaytmChecksum();
    const log = console.log;
    console.log = () => {}; // the npm lib logs every failed decrypt
    try {
      for (let i = 0; i < 60; i++) {
        const key = `k${String(i).padStart(2, "0")}@#%&${crypto.randomUUID().slice(0, 9)}`;
        const json = JSON.stringify({ mid: "M", orderId: `O_${i}`, amount: `${i}.00`, n: crypto.randomUUID(), u: "₹é😀" });
        const sig = await generateSignature(json, key);
        expect(official.verifySignature(json, key, sig)).toBe(true);
        expect(official.verifySignature(`${json} `, key, sig)).toBe(false);
        const form = { MID: "M", ORDERID: `O_${i}`, TXNAMOUNT: `${i}.00`, STATUS: "TXN_SUCCESS", RESPMSG: `a|b ${i}`, BANKNAME: "" };
        const fsig = await generateSignature(form, key);
        expect(official.verifySignature({ ...form, CHECKSUMHASH: fsig }, key, fsig)).toBe(true);
        expect(official.verifySignature({ ...form, TXNAMOUNT: "0.01", CHECKSUMHASH: fsig }, key, fsig)).toBe(false);
      }
    } finally {
      console.log = log;
    }
  });

  it("official → ours: checksums from the official generator (bytes repaired) verify with ours", async () => {
    const official = officialPaytmChecksum();
    for (let i = 0; i < 30; i++) {
      const form = { MID: "M", ORDERID: `O_${i}`, TXNAMOUNT: `${i + 1}.00`, STATUS: "TXN_SUCCESS", TXNID: crypto.randomUUID() };
      const sig = repairWorkerdBase64(await official.generateSignature({ ...form }, KEY));
      expect(sig).toHaveLength(108);
      expect(await verifySignature(form, KEY, sig)).toBe(true);
      expect(await verifySignature({ ...form, ORDERID: "OTHER" }, KEY, sig)).toBe(false);
    }
  });

  it("runChecksumOracle in workerd: the only failures are those caused by the base64 streaming bug", async () => {
    const report = await runChecksumOracle({ payloads: 100 });
    const unexplained = report.failures.filter(
      (f) =>
        !/official\(fixed salt\)|fixed-salt bytes|official→ours|form ignores CHECKSUMHASH|legacy "null" rule|-byte key (matches|verifies) SDK/.test(
          f,
        ),
    );
    expect(unexplained).toEqual([]);
  });
});
