/**
 * Category names at the edge. The database keeps upstream's services_master slugs; the two apps
 * use other ids in two places, mapped here and nowhere else:
 *
 * - The provider app registers with front-end category ids (`POST /api/services/:category/providers`,
 *   docs/api-contract.md §3.5). Upstream's map: `labor` → `labors`, and
 *   `painting-cleaning` / `painter` → `painting`. `painter` and `painting-cleaning` used to fail only
 *   because upstream looked for sub-services under their own names; they register into
 *   `painting`, the category that has the painting sub-services.
 * - The user app finds its category screens by `services[].name` (userApp/app/services/[category].tsx):
 *   its painting screen looks for `painting-cleaning`, so the `painting` row is listed under that
 *   name (its id is unchanged). Categories with no sub-services (`painter`) or inactive ones are not
 *   listed: nothing in them could ever be booked. `electrician` and `carpenter` have sub-services
 *   since the seed gave them some, so they register and list like any other category.
 */
const REGISTRATION_ALIASES: Record<string, string> = {
  labor: "labors",
  labour: "labors",
  "painting-cleaning": "painting",
  painter: "painting",
};

/** The services_master name a provider-app category id registers into. */
export function serviceNameForCategory(category: string): string {
  const c = category.trim().toLowerCase();
  return REGISTRATION_ALIASES[c] ?? c;
}

const PUBLIC_NAMES: Record<string, string> = { painting: "painting-cleaning" };

/** The slug the user app expects for a services_master name. */
export function publicServiceName(name: string): string {
  return PUBLIC_NAMES[name] ?? name;
}

/** A services_master name as notification texts print it ("granite-tiles" → "Granite Tiles"). */
export function categoryLabel(name: string): string {
  return name
    .split("-")
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(" ");
}

export const LABOUR_SERVICE = "labors";

/** City spellings customers and providers both use; compared case-insensitively (as upstream). */
const CITY_ALIASES: string[][] = [
  ["bengaluru", "bangalore"],
  ["mumbai", "bombay"],
  ["kolkata", "calcutta"],
  ["chennai", "madras"],
  ["pune", "puna", "poona"],
  ["gurugram", "gurgaon"],
  ["mysuru", "mysore"],
  ["thiruvananthapuram", "trivandrum"],
];

/** Every spelling of a city, lower-cased, for `lower(city) = any(...)`. */
export function citySpellings(city: string): string[] {
  const c = city.trim().toLowerCase();
  if (!c) return [];
  return CITY_ALIASES.find((group) => group.includes(c)) ?? [c];
}
