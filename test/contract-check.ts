/**
 * Checks an answer against the API's own OpenAPI document (/api/openapi.json): the route it reached,
 * the status, and the JSON body against that status's schema. Documented objects are closed (the
 * document is generated with zod's output mode), so a field the schema does not name is a mismatch
 * too. Shared by the workerd harness (test/harness.ts), which checks every 2xx answer any test
 * receives, and the end-to-end contract run (test/e2e/contract-kit.ts), which runs under plain Node:
 * so this file imports only zod and uses erasable TypeScript only.
 */
import { z } from "zod";

type Media = { schema?: unknown };
type Operation = { responses?: Record<string, { content?: Record<string, Media> }> };
export type OpenApiDoc = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
};

export type Answer = { method: string; path: string; status: number; contentType: string | null; body: unknown };

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** First mismatch of an answer with the document, or null. Only 2xx JSON answers are checked. */
export type ContractCheck = (a: Answer) => { route: string; problem: string } | null;

export function contractChecker(doc: OpenApiDoc): ContractCheck {
  // Static segments before parameters, as the app's router prefers them (/bookings/unread-count before /bookings/{id}).
  const templates = Object.keys(doc.paths)
    .map((template) => ({
      template,
      params: (template.match(/\{[^}]+\}/g) ?? []).length,
      re: new RegExp(
        `^${template
          .split(/\{[^}]+\}/)
          .map(escapeRe)
          .join("[^/]+")}/?$`,
      ),
    }))
    .sort((a, b) => a.params - b.params);
  const validators = new Map<string, z.ZodType>();
  const defs = doc.components?.schemas ?? {};

  const validatorOf = (key: string, schema: unknown): z.ZodType => {
    let v = validators.get(key);
    if (!v) {
      const text = JSON.stringify({ ...(schema as object), $defs: defs }).replaceAll('"#/components/schemas/', '"#/$defs/');
      v = z.fromJSONSchema(JSON.parse(text));
      validators.set(key, v);
    }
    return v;
  };

  return ({ method, path, status, contentType, body }) => {
    if (status < 200 || status >= 300 || !/\bjson\b/i.test(contentType ?? "")) return null;
    const bare = path.replace(/[?#].*$/, "");
    const m = method.toLowerCase();
    const hit = templates.find((t) => t.re.test(bare) && doc.paths[t.template]?.[m]);
    if (!hit) return { route: `${method} ${bare}`, problem: "no documented operation answers this path" };
    const route = `${method} ${hit.template}`;
    const responses = doc.paths[hit.template]![m]!.responses ?? {};
    const documented = responses[String(status)];
    if (!documented) return { route, problem: `status ${status} is not documented (documented: ${Object.keys(responses).join(", ")})` };
    const schema = documented.content?.["application/json"]?.schema;
    if (schema === undefined)
      return { route, problem: `answered JSON; documented as ${Object.keys(documented.content ?? {}).join(", ") || "no body"}` };
    const result = validatorOf(`${route} ${status}`, schema).safeParse(body);
    if (result.success) return null;
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.map(String).join(".") : "(body)";
    const keys = "keys" in issue && Array.isArray(issue.keys) ? ` ${JSON.stringify(issue.keys)}` : "";
    return { route, problem: `${where}: ${issue.message}${keys}` };
  };
}

/** The message a failing test shows: route, concrete path, status and the first mismatch. */
export function contractMessage(a: Answer, m: { route: string; problem: string }): string {
  return `response does not match the contract: ${m.route} (${a.method} ${a.path}) answered ${a.status}; ${m.problem}`;
}
