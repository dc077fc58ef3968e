import { scrypt } from "@noble/hashes/scrypt.js";
import { compare } from "bcryptjs";
import { constantTimeEqual, fromBase64Url, toBase64Url } from "../lib/bytes";

/**
 * Password hashing: scrypt (memory-hard) with OWASP's N=2^14, r=8, p=5 set, stored self-describing
 * as `$scrypt$ln=14,r=8,p=5$<salt>$<hash>` so the cost can be raised later: a hash whose parameters
 * are below the current ones verifies and is flagged for rehash on the next successful login.
 * Hashes imported from the old server (bcrypt, cost 12) verify too and are always rehashed.
 *
 * One hash is ~0.25 s of CPU and an isolate serves many requests on one thread (see inTurn).
 */
export type PasswordParams = { ln: number; r: number; p: number };
export const DEFAULT_PARAMS: PasswordParams = { ln: 14, r: 8, p: 5 };
const DK_LEN = 32;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{40,})$/;
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * Hashes of one isolate run one at a time, in arrival order, with a turn of the event loop between two:
 * a hash cannot be split (and a deployed Worker's clock stands still while it runs, so no library can
 * time-slice one), but between hashes the isolate reads database answers and serves other requests.
 */
let queue: Promise<unknown> = Promise.resolve();
const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
function inTurn<T>(work: () => T | Promise<T>): Promise<T> {
  const result = queue.then(turn).then(work);
  queue = result.catch(() => undefined);
  return result;
}

const derive = (password: string, salt: Uint8Array, o: { N: number; r: number; p: number }) =>
  inTurn(() => scrypt(new TextEncoder().encode(password.normalize("NFKC")), salt, { ...o, dkLen: DK_LEN }));

export async function hashPassword(password: string, params: PasswordParams = DEFAULT_PARAMS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const dk = await derive(password, salt, { N: 2 ** params.ln, r: params.r, p: params.p });
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${toBase64Url(salt)}$${toBase64Url(dk)}`;
}

export type VerifyResult = { ok: boolean; needsRehash: boolean };

export async function verifyPassword(password: string, stored: string, current: PasswordParams = DEFAULT_PARAMS): Promise<VerifyResult> {
  const m = FORMAT.exec(stored);
  if (m) {
    const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (ln < 8 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return { ok: false, needsRehash: false };
    const dk = await derive(password, fromBase64Url(m[4]!), { N: 2 ** ln, r, p });
    const ok = constantTimeEqual(dk, fromBase64Url(m[5]!));
    return { ok, needsRehash: ok && (ln < current.ln || r !== current.r || p < current.p) };
  }
  if (BCRYPT.test(stored)) {
    const ok = await inTurn(() => compare(password, stored));
    return { ok, needsRehash: ok };
  }
  return { ok: false, needsRehash: false };
}

/** A hash of a random password, verified against when the account does not exist, so timing does not reveal it. */
let dummy: string | undefined;
export async function dummyVerify(password: string, params: PasswordParams): Promise<void> {
  dummy ??= await hashPassword(crypto.randomUUID(), params);
  await verifyPassword(password, dummy, params);
}
