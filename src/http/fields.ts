import { z } from "zod";

/**
 * Field rules shared by the request schemas, so a value the database cannot store is a 400 naming
 * the field instead of a 500 from Postgres.
 * - Text: Postgres text and jsonb cannot hold U+0000 (22021 / 22P05); validate.ts refuses it in every
 *   body, query and param. Free text people read (names, addresses, reviews, reasons) also refuses
 *   the other C0 controls and DEL: they only come from broken or hostile clients and corrupt push
 *   payloads and admin screens. Line breaks and tabs stay.
 * - Money: rupees as typed in the apps become integer paise in int4 columns, so a price must be at
 *   least one paisa once rounded (0.001 would store 0 and trip the > 0 CHECK) and at most
 *   MAX_PRICE_RUPEES; a booking's total of several prices is checked against INT4_MAX where it is
 *   summed (src/bookings/create.ts).
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NO_CONTROL = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/;

/** A free-text string; chain `.trim()`, `.min()`, `.max()` as for z.string(). */
export const text = () => z.string().regex(NO_CONTROL, "must not contain control characters");

/** Largest value of a Postgres integer (int4) column, e.g. `total_price_paise`. */
export const INT4_MAX = 2_147_483_647;

/** Per-price ceiling (₹1 crore, upstream's numeric(10,2) range); booking totals are checked against INT4_MAX. */
export const MAX_PRICE_RUPEES = 10_000_000;

/** Rupees (number or numeric string) that round to at least one paisa and at most `max` rupees. */
export const rupees = (field: string, max = MAX_PRICE_RUPEES) =>
  z.coerce
    .number()
    .positive(`${field} must be greater than 0`)
    .max(max, `${field} is too large`)
    .refine((v) => Math.round(v * 100) >= 1, `${field} must be at least 0.01`);

/**
 * Upstream's rule: drop a leading +, then 91 (12 digits) or 0/1 (11 digits);
 * what remains must be 10 digits starting 2-9. The DB stores those 10 digits.
 */
export function normalisePhone(raw: string): string | null {
  let d = raw.replace(/[\s()-]/g, "");
  if (d.startsWith("+")) d = d.slice(1);
  if (!/^\d+$/.test(d)) return null;
  if (d.length === 12 && d.startsWith("91")) d = d.slice(2);
  else if (d.length === 11 && (d.startsWith("0") || d.startsWith("1"))) d = d.slice(1);
  return /^[2-9]\d{9}$/.test(d) ? d : null;
}

export const phone = z
  .string()
  .max(20)
  .transform((v, ctx) => {
    const n = normalisePhone(v);
    if (!n) {
      ctx.addIssue({ code: "custom", message: "Please enter a valid 10-digit mobile number" });
      return z.NEVER;
    }
    return n;
  });

/** A person's name as the apps ask for it (signup, profile). */
export const fullName = z
  .string()
  .trim()
  .min(2, "Full name must be 2-100 characters")
  .max(100, "Full name must be 2-100 characters")
  .regex(/^[\p{L}\p{M}\s'.-]+$/u, "Full name can only contain letters, spaces, apostrophes, dots and hyphens");

/** Lower-cased; an empty string means "no e-mail". */
export const email = z
  .string()
  .trim()
  .max(254)
  .transform((v) => v.toLowerCase())
  .pipe(z.union([z.literal(""), z.email("Please enter a valid email address")]));

/**
 * A profile photo as the apps send it: a `data:image/...;base64` URL (stored in R2), an https URL
 * (the user app's default picture, the provider app's own Cloudinary upload), or "" for none.
 * The user app falls back to a raw `file://` URI when base64 conversion fails; at signup that is
 * treated as "no photo" (upstream used its default picture), on profile update it is refused.
 */
export const profilePicInput = z.string().max(8 * 1024 * 1024);

/**
 * Path of the first string (value or object key) that holds U+0000, or undefined. Iterative with a
 * budget: bodies nest thousands deep (the fuzz sends them) and must not overflow the stack here.
 */
export function nulPath(value: unknown, budget = 10_000): (string | number)[] | undefined {
  type Node = { v: unknown; key?: string | number; parent?: Node };
  const pathOf = (n: Node | undefined): (string | number)[] => {
    const out: (string | number)[] = [];
    for (let x = n; x && x.key !== undefined; x = x.parent) out.unshift(x.key);
    return out;
  };
  const stack: Node[] = [{ v: value }];
  while (stack.length > 0 && budget-- > 0) {
    const node = stack.pop()!;
    const v = node.v;
    if (typeof v === "string") {
      if (v.includes("\u0000")) return pathOf(node);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], key: i, parent: node });
    } else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes("\u0000")) return pathOf(node);
        stack.push({ v: child, key: k, parent: node });
      }
    }
  }
  return undefined;
}

/**
 * Our Paytm orderIds (ORDER_… / LABOUR_…); Paytm's own rule is ≤ 50 of [A-Za-z0-9@._-]. Payments and
 * refunds both take and answer them.
 */
export const paytmOrderId = z.string().regex(/^[A-Za-z0-9@._-]{1,50}$/, "must be a payment order id");

/** A page of a list, as the payment history and the admin refund list answer it: `total` items in `totalPages` pages of `limit`. */
export const Pagination = z.object({
  currentPage: z.int(),
  totalPages: z.int(),
  total: z.int(),
  limit: z.int(),
  hasMore: z.boolean(),
});
