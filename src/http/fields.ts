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
