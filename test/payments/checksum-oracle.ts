// Cross-check of src/paytm/checksum.ts against the official npm `paytmchecksum@1.5.1` (the oracle):
// published vectors, randomised payloads in both directions, fixed-salt byte equality, version drift
// and key lengths. The full run needs Node's crypto (test/tools/paytm/checksum-oracle.test.ts);
// checksum-oracle.test.ts runs it in workerd too, where a node:crypto base64 bug explains the rest.
// A failure names its seed; `runChecksumOracle({ seed })` replays it.

import { createCipheriv, createHash } from "node:crypto";
import { createRequire } from "node:module";
import { generateSignature, isUsableMerchantKey, type PaytmParams, paramsToSignString, verifySignature } from "../../src/paytm/checksum.ts";

interface OfficialPaytmChecksum {
  generateSignature(params: string | Record<string, string | null>, key: string): Promise<string>;
  verifySignature(params: string | Record<string, string | null>, key: string, checksum: string): boolean;
  calculateChecksum(params: string, key: string, salt: string): string;
  getStringByParams(params: Record<string, string | null>): string;
}

const official = createRequire(import.meta.url)("paytmchecksum") as OfficialPaytmChecksum;

// The npm lib console.logs a caught padding error on every failed decrypt; keep the report readable.
async function quietly<T>(fn: () => T | Promise<T>): Promise<T> {
  const original = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = original;
  }
}

// Test vectors (Paytm publishes none): computed with the official paytmchecksum@1.5.1 and a fixed salt.
const VECTOR_KEY = "XKJq@8sRmT2#vB6w";
const VECTORS: { name: string; payload: string | Record<string, string>; salt: string; checksum: string }[] = [
  {
    name: "V1 JSON",
    payload: '{"mid":"TESTMID00000000000001","orderId":"ORD_0001"}',
    salt: "aB3+",
    checksum: "vsmSPRPvACP76SeF5sSOysRaq6nDdubiuj+tiaXj9tXBlgW+iPshPHa6wQ6h1Lx5r+1v13d9aPwBpqG1B7nYrfKSGiuB+FSVfJvi0iwT05s=",
  },
  {
    name: "V2 form",
    payload: { MID: "TESTMID00000000000001", ORDERID: "ORD_0001", TXNAMOUNT: "100.00", STATUS: "TXN_SUCCESS", RESPCODE: "01" },
    salt: "aB3+",
    checksum: "oWFKSUP52gOwY6G3SaEIIhY5f8DCh+LPRCkREYD6p5NzCt74Oc05hwFxNZFo2CD6fty/H6HMJsgn/OBiES4s5r+nqsxSFEaw/VFO7b1XL8k=",
  },
  {
    name: "V3 refund",
    payload:
      '{"mid":"TESTMID00000000000001","txnType":"REFUND","orderId":"ORD_0001","txnId":"20240511112233800110168524301234567","refId":"REF0001","refundAmount":"50.00"}',
    salt: "Zz9/",
    checksum: "HDJ24oXsZil8ZmI+GR5XNRVSXB7s/COJjBaM5Kp6Ox+yn2dM0+juCx6VUorB9pgRQ9vrv0tvGkALKls+8xr/S97/YCvPDQXmhMkHlYd9LUE=",
  },
];

// Deterministic PRNG so a failure can be replayed with the printed seed.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABETS = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
  "अआइईउऊकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह₹",
  "éüñßçøåæœ€£¥©®™°±×÷",
  "😀🎉🚀💸🇮🇳",
  "\u0000\u0001\t\n\r\u2028\u2029\ufeff",
];

function makeRandom(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const text = (max: number) => {
    const len = int(max + 1);
    let out = "";
    for (let i = 0; i < len; i++) out += pick([...pick(ALPHABETS)]);
    return out;
  };
  const jsonValue = (depth: number): unknown => {
    const r = rand();
    if (depth > 2 || r < 0.35) return text(12);
    if (r < 0.45) return int(1_000_000) / (rand() < 0.5 ? 1 : 100);
    if (r < 0.5) return rand() < 0.5;
    if (r < 0.55) return null;
    if (r < 0.75) return Array.from({ length: int(4) }, () => jsonValue(depth + 1));
    const obj: Record<string, unknown> = {};
    for (let i = int(5); i > 0; i--) obj[text(6) || "k"] = jsonValue(depth + 1);
    return obj;
  };
  const formKey = () => {
    const r = rand();
    if (r < 0.05) return String(int(30)); // integer-like keys exercise npm's Object.values order
    if (r < 0.1) return text(5);
    return (
      pick(["MID", "ORDERID", "TXNID", "TXNAMOUNT", "STATUS", "RESPCODE", "RESPMSG", "BANKNAME", "x", "mid", "Z_1"]) +
      (rand() < 0.5 ? "" : String(int(100)))
    );
  };
  const formValue = (): string | null => {
    const r = rand();
    if (r < 0.1) return "";
    if (r < 0.15) return pick(["null", "NULL", "Null"]);
    if (r < 0.18) return null;
    if (r < 0.25) return `${text(4)}|${text(4)}`;
    return text(20);
  };
  const keyOf = (bytes: number) => {
    // Merchant keys are ASCII with symbols like & # @ %; sometimes use 2-byte chars to test UTF-8 length.
    let out = "";
    while (new TextEncoder().encode(out).length < bytes) {
      const remaining = bytes - new TextEncoder().encode(out).length;
      out += remaining >= 2 && rand() < 0.15 ? pick([..."éüñß"]) : pick([..."abcdefXYZ0123456789&#@%$!*"]);
    }
    return out;
  };
  return { int, pick, text, jsonValue, formKey, formValue, keyOf };
}

// Reference AES-192/256 signer mirroring Paytm's Node SDK EncDecUtil (npm 1.5.1 only does 128).
function sdkChecksum(payload: string, key: string, salt: string): string {
  const hash = createHash("sha256").update(`${payload}|${salt}`).digest("hex") + salt;
  const bits = Buffer.byteLength(key) * 8;
  const cipher = createCipheriv(`aes-${bits}-cbc`, Buffer.from(key), Buffer.from("@@@@&&&&####$$$$"));
  return cipher.update(hash, "binary", "base64") + cipher.final("base64");
}

function tamper(checksum: string): string {
  const i = Math.floor(checksum.length / 3);
  const ch = checksum[i] === "A" ? "B" : "A";
  return checksum.slice(0, i) + ch + checksum.slice(i + 1);
}

export interface OracleReport {
  seed: number;
  checks: number;
  failures: string[];
}

export async function runChecksumOracle(options: { seed?: number; payloads?: number } = {}): Promise<OracleReport> {
  const seed = options.seed ?? 20240511;
  const total = options.payloads ?? 500;
  const rand = mulberry32(seed);
  const r = makeRandom(rand);
  const failures: string[] = [];
  let checks = 0;
  const expect = (ok: boolean, what: string) => {
    checks++;
    if (!ok) failures.push(what);
  };

  // 1. Published vectors: byte-exact generation with the fixed salt, and verification both ways.
  for (const v of VECTORS) {
    const ours = await generateSignature(v.payload, VECTOR_KEY, v.salt);
    expect(ours === v.checksum, `${v.name}: ours(fixed salt) = ${ours}`);
    const payloadString = typeof v.payload === "string" ? v.payload : official.getStringByParams(v.payload);
    expect(official.calculateChecksum(payloadString, VECTOR_KEY, v.salt) === v.checksum, `${v.name}: official(fixed salt)`);
    expect(await verifySignature(v.payload, VECTOR_KEY, v.checksum), `${v.name}: ours verifies vector`);
    const officialInput = typeof v.payload === "string" ? v.payload : { ...v.payload, CHECKSUMHASH: v.checksum };
    expect(await quietly(() => official.verifySignature(officialInput, VECTOR_KEY, v.checksum)), `${v.name}: official verifies vector`);
    expect(!(await verifySignature(v.payload, VECTOR_KEY, tamper(v.checksum))), `${v.name}: tampered checksum rejected`);
    expect(!(await verifySignature(v.payload, "XKJq@8sRmT2#vB6x", v.checksum)), `${v.name}: wrong key rejected`);
  }

  // 2. Randomised payloads, both directions, plus fixed-salt byte equality with the oracle.
  for (let n = 0; n < total; n++) {
    const key = r.keyOf(16);
    const salt = btoa(String.fromCharCode(r.int(256), r.int(256), r.int(256)));
    const label = `#${n}`;
    if (n % 2 === 0) {
      const payload = JSON.stringify(r.jsonValue(0));
      expect(
        (await generateSignature(payload, key, salt)) === official.calculateChecksum(payload, key, salt),
        `${label} JSON fixed-salt bytes`,
      );
      const ours = await generateSignature(payload, key);
      expect(await quietly(() => official.verifySignature(payload, key, ours)), `${label} JSON ours→official`);
      const theirs = await official.generateSignature(payload, key);
      expect(await verifySignature(payload, key, theirs), `${label} JSON official→ours`);
      const altered = `${payload} `;
      expect(!(await verifySignature(altered, key, theirs)), `${label} JSON altered payload rejected`);
    } else {
      const params: PaytmParams = {};
      for (let i = r.int(12); i >= 0; i--) params[r.formKey()] = r.formValue();
      const ourString = paramsToSignString(params);
      expect(ourString === official.getStringByParams({ ...params }), `${label} form string/order ${JSON.stringify(params)}`);
      expect(
        (await generateSignature(params, key, salt)) === official.calculateChecksum(ourString, key, salt),
        `${label} form fixed-salt bytes`,
      );
      const ours = await generateSignature(params, key);
      expect(await quietly(() => official.verifySignature({ ...params, CHECKSUMHASH: ours }, key, ours)), `${label} form ours→official`);
      const theirs = await official.generateSignature({ ...params }, key);
      expect(await verifySignature({ ...params, CHECKSUMHASH: theirs }, key, theirs), `${label} form official→ours`);
      // A received CHECKSUMHASH field never takes part in the signed string.
      expect(await verifySignature({ ...params, CHECKSUMHASH: "anything" }, key, theirs), `${label} form ignores CHECKSUMHASH`);
      const firstKey = Object.keys(params)[0];
      if (firstKey !== undefined) {
        const changed = { ...params, [firstKey]: `${params[firstKey] ?? ""}x` };
        expect(!(await verifySignature(changed, key, theirs)), `${label} form altered value rejected`);
      }
    }
  }

  // 3. Version drift: a signer using the legacy "null"-string rule (npm <= 1.5.0, Python, PHP).
  {
    const params = { MID: "M1", BANKNAME: "null", ORDERID: "O1", STATUS: "TXN_SUCCESS" };
    const legacy = official.calculateChecksum(paramsToSignString(params, { legacyNullString: true }), VECTOR_KEY, "Lg0/");
    expect(await verifySignature(params, VECTOR_KEY, legacy), 'legacy "null" rule accepted');
    expect(
      !(await quietly(() => official.verifySignature({ ...params }, VECTOR_KEY, legacy))),
      'npm 1.5.1 itself rejects legacy "null" (documents the drift)',
    );
  }

  // 4. Key lengths: 24/32 bytes use AES-192/256 like Paytm's Node SDK; npm 1.5.1 throws on them.
  for (const bytes of [24, 32]) {
    const key = r.keyOf(bytes);
    const payload = '{"mid":"M","orderId":"O"}';
    expect(
      (await generateSignature(payload, key, "Ab1/")) === sdkChecksum(payload, key, "Ab1/"),
      `${bytes}-byte key matches SDK AES-${bytes * 8}`,
    );
    expect(await verifySignature(payload, key, sdkChecksum(payload, key, "Xy2+")), `${bytes}-byte key verifies SDK checksum`);
    let officialThrows = false;
    try {
      await official.generateSignature(payload, key);
    } catch {
      officialThrows = true;
    }
    expect(officialThrows, `npm 1.5.1 rejects a ${bytes}-byte key (documented behaviour)`);
  }
  for (const bad of ["", "short", "fifteen_bytes__", "seventeen_bytes__", "x".repeat(33), "é".repeat(9)]) {
    expect(!isUsableMerchantKey(bad), `key of ${new TextEncoder().encode(bad).length} bytes unusable`);
    expect(!(await verifySignature("{}", bad, VECTORS[0]?.checksum ?? "")), `verify fails closed for ${bad.length}-char key`);
    let threw = false;
    try {
      await generateSignature("{}", bad);
    } catch (error) {
      threw = (error as Error).name === "PaytmKeyError";
    }
    expect(threw, `generate throws PaytmKeyError for ${bad.length}-char key`);
  }

  // 5. Garbage checksums never throw.
  for (const junk of ["", "!!!", "AAAA", "A".repeat(108), "not base64 at all ###", "=".repeat(20)]) {
    expect(!(await verifySignature("{}", VECTOR_KEY, junk)), `junk checksum ${JSON.stringify(junk.slice(0, 12))} rejected`);
  }

  return { seed, checks, failures };
}
