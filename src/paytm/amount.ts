// Money crosses the Paytm boundary as rupee strings with exactly two decimals ("99.00"); everywhere
// else it is integer paise (docs/payments.md §1.2: `1` or `1.0` fail checksum/validation on Paytm's side).

/** 9900 → "99.00". Throws on anything that is not a positive safe integer. */
export function paiseToRupees(paise: number): string {
  if (!Number.isSafeInteger(paise) || paise <= 0) {
    throw new RangeError(`amountPaise must be a positive integer (got ${paise})`);
  }
  const rupees = Math.floor(paise / 100);
  const rest = paise % 100;
  return `${rupees}.${rest.toString().padStart(2, "0")}`;
}

/**
 * "99.00" → 9900; null for anything that is not a plain non-negative decimal with at most two
 * fraction digits. Exact (no float arithmetic), so it is safe to compare with stored paise.
 */
export function rupeesToPaise(value: string | null | undefined): number | null {
  if (typeof value !== "string") return null;
  const match = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(value.trim());
  if (!match) return null;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(2, "0"));
  const paise = whole * 100 + fraction;
  return Number.isSafeInteger(paise) ? paise : null;
}
