/**
 * Structured JSON logs (one line per event, read by Workers observability) with redaction:
 * phone numbers, OTPs, tokens, passwords, checksums and signatures never reach a log line.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY =
  /pass(word)?|otp|code_?hash|token|secret|authorization|checksum|signature|txn_?token|merchant[-_]?key|api[-_]?key|auth[-_]?key|private[-_]?key|credential|cookie|aadhar/i;
const PHONE_KEY = /phone|mobile|msisdn/i;
const PHONE_VALUE = /(?<!\d)(\+?91[- ]?)?[6-9]\d{9}(?!\d)/g;
const JWT_VALUE = /eyJ[\w-]+\.[\w-]+\.[\w-]+/g;
/** E-mail addresses are PII too: keep the domain (useful for delivery problems), drop the mailbox. */
const EMAIL_VALUE = /[\w.+-]+@([\w-]+\.)+[A-Za-z]{2,}/g;

export function maskPhone(v: string): string {
  return v.replace(PHONE_VALUE, (m) => `******${m.slice(-4)}`);
}

/** Deep copy with secrets removed. Strings are scrubbed of phone numbers and JWTs wherever they appear. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[depth]";
  if (typeof value === "string") return maskPhone(value.replace(JWT_VALUE, "[jwt]").replace(EMAIL_VALUE, (m) => `***@${m.split("@")[1]}`));
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k)) out[k] = v == null ? v : "[redacted]";
      else if (PHONE_KEY.test(k) && typeof v === "string") out[k] = `******${v.slice(-4)}`;
      else out[k] = redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

export type Logger = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
};

/** Writes one JSON line; every log and metric line goes through here. `record` must be redacted already. */
export function writeLine(level: LogLevel, record: Record<string, unknown>): void {
  const line = JSON.stringify(record);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * A logger that adds `base` to every line. Requests get one from the middleware (`c.get("log")`);
 * code without a request (Durable Objects, queue consumers, cron) creates its own, with a
 * `component` field saying whose lines they are.
 */
export function createLogger(level: LogLevel = "info", base: Record<string, unknown> = {}): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    writeLine(lvl, { level: lvl, msg, time: new Date().toISOString(), ...(redact({ ...base, ...fields }) as object) });
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}
