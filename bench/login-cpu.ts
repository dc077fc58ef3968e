/**
 * CPU cost of one login, measured in Node on the worker's own code (bundled with esbuild the way
 * wrangler bundles it): scrypt verify at the configured cost, access-token signing, refresh-token
 * MAC and hash. vitest cannot time code (its transform slows hot JS several times), and
 * `npm run bench` measures the whole request; this isolates the CPU part that Workers bill and that caps logins per isolate.
 *
 *   node bench/login-cpu.ts            # ln=14 (production), 30 runs
 *   LN=10 RUNS=50 node bench/login-cpu.ts
 */
import { mkdirSync } from "node:fs";
import { buildSync } from "esbuild";

const ln = Number(process.env.LN ?? 14);
const runs = Number(process.env.RUNS ?? 30);
const out = ".local/bench/login-cpu.mjs";
mkdirSync(".local/bench", { recursive: true });
buildSync({
  stdin: {
    contents: `export * from "./src/auth/password"; export * from "./src/lib/jwt"; export * from "./src/sessions/tokens"; export { sha256Hex } from "./src/lib/bytes";`,
    resolveDir: process.cwd(),
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  external: ["crypto", "node:*"],
  outfile: out,
  logLevel: "silent",
});
const m = await import(`${process.cwd()}/${out}`);

const params = { ln, r: 8, p: 5 };
const secret = "bench-only-secret-0123456789abcdef0123456789";
const stored = await m.hashPassword("Passw0rd!", params);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
async function time(label: string, fn: () => unknown | Promise<unknown>, n = runs) {
  await fn(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  const row = { label, medianMs: +median(xs).toFixed(2), minMs: +Math.min(...xs).toFixed(2), maxMs: +Math.max(...xs).toFixed(2) };
  console.log(
    `${label.padEnd(44)} median ${String(row.medianMs).padStart(8)} ms   min ${String(row.minMs).padStart(8)}   max ${String(row.maxMs).padStart(8)}`,
  );
  return row;
}

console.log(`node ${process.version}; scrypt ln=${ln} (N=${2 ** ln}), r=8, p=5, dkLen=32; ${runs} runs each\n`);
const verify = await time(`verifyPassword (ln=${ln}, right password)`, () => m.verifyPassword("Passw0rd!", stored, params));
await time(`dummyVerify (unknown phone, ln=${ln})`, () => m.dummyVerify("whatever", params));
const sign = await time("signAccessToken (HS256)", () =>
  m.signAccessToken(secret, { userId: crypto.randomUUID(), role: "user", sessionId: crypto.randomUUID() }),
);
const rt = await time("refresh token MAC + sha256", async () => m.sha256Hex(await m.refreshTokenFor(secret, crypto.randomUUID())));
console.log(
  `\none login ≈ ${(verify.medianMs + sign.medianMs + rt.medianMs).toFixed(1)} ms CPU (verify + sign + refresh token), excluding JSON/zod and I/O`,
);
