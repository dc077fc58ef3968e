import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../../src/auth/password";

const params = { ln: 12, r: 8, p: 2 };

describe("password hashing shares the isolate", () => {
  it("other work runs between the hashes of a burst (a login burst does not freeze the isolate)", async () => {
    const stored = await hashPassword("Passw0rd!", params);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    try {
      const verdicts = await Promise.all(Array.from({ length: 4 }, () => verifyPassword("Passw0rd!", stored, params)));
      expect(verdicts.every((v) => v.ok)).toBe(true);
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it("a burst finishes first come, first served: the first login is not held until the last one", async () => {
    const stored = await hashPassword("Passw0rd!", params);
    const started = Date.now();
    const done = await Promise.all(
      Array.from({ length: 8 }, () => verifyPassword("Passw0rd!", stored, params).then(() => Date.now() - started)),
    );
    // One after another: the first is done after about an eighth of the burst, not with the last (which
    // is what running all eight interleaved would give).
    expect(Math.min(...done)).toBeLessThan(Math.max(...done) / 2);
  });

  it("a wrong password and a malformed hash are refused", async () => {
    const stored = await hashPassword("Passw0rd!", params);
    expect(await verifyPassword("wrong", stored, params)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword("Passw0rd!", "$scrypt$garbage", params)).toEqual({ ok: false, needsRehash: false });
    // Below the current cost: verifies and asks for a rehash.
    expect(await verifyPassword("Passw0rd!", stored, { ...params, ln: 13 })).toEqual({ ok: true, needsRehash: true });
  });
});
