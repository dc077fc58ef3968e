import { isConnectionLost, isDbTimeout, isSessionGone, pgCode, pgConstraint } from "../db/client";
import { type ErrorKnowledge, errorHandler, notFoundHandler, toAppErrorWith } from "./error-response";
import { AppError } from "./errors";

/** What the core knows of database errors, beyond what every worker maps (src/http/error-response.ts). */
const databaseErrors: ErrorKnowledge = {
  toAppError(err) {
    // The session check that rides on the request's first database call (src/db/client.ts SessionGuard).
    if (isSessionGone(err)) return new AppError("INVALID_TOKEN", "Session is no longer valid");
    switch (pgCode(err)) {
      case "22P02": // invalid text representation, e.g. a malformed uuid that slipped past validation
      case "22007":
      case "22008":
        return new AppError("VALIDATION_ERROR", "Invalid identifier or value", { cause: err });
      // Safety net behind the schemas (src/http/fields.ts): a value the column cannot hold is the
      // caller's input, never a server fault. The message stays generic: the schemas name fields.
      case "22021": // invalid byte sequence (U+0000 in text)
      case "22P05": // untranslatable character (U+0000 in jsonb)
        return new AppError("VALIDATION_ERROR", "Text contains a character that cannot be stored", { cause: err });
      case "22003": // numeric value out of range (e.g. an int4 total)
        return new AppError("VALIDATION_ERROR", "A number is out of the allowed range", { cause: err });
      case "23514": // check violation: a value CHECK (e.g. a price of 0 paise), or a state guard (migrations/0001_guards.sql)
        if (/_(?:transition|immutable|write_once)$/.test(pgConstraint(err) ?? ""))
          return new AppError("INVALID_STATE_TRANSITION", "This record changed meanwhile; reload it and try again", { cause: err });
        return new AppError("VALIDATION_ERROR", "A value is outside what is allowed", { cause: err });
      case "23505":
        return new AppError("DUPLICATE", "This record already exists", { cause: err });
      case "40001": // serialization failure / deadlock: safe for the apps to retry (they retry 503)
      case "40P01":
      case "55P03":
        return new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1, cause: err });
      case "57P01":
      case "08006":
      case "08003":
        return new AppError("SERVICE_UNAVAILABLE", "Database temporarily unavailable", { retryAfter: 2, cause: err });
    }
    if (isDbTimeout(err))
      return new AppError("SERVICE_UNAVAILABLE", "Database is not answering; please retry", { retryAfter: 2, cause: err });
    if (isConnectionLost(err))
      return new AppError("SERVICE_UNAVAILABLE", "Database temporarily unavailable", { retryAfter: 2, cause: err });
    return undefined;
  },
  inputRejection(err) {
    const sqlstate = pgCode(err);
    return sqlstate && INPUT_SQLSTATES.has(sqlstate) ? { sqlstate, constraint: pgConstraint(err) } : undefined;
  },
};

const INPUT_SQLSTATES = new Set(["22P02", "22007", "22008", "22021", "22P05", "22003", "23514"]);

/** Maps anything thrown to the apps' error envelope. Only AppError messages reach the client. */
export const toAppError = (err: unknown): AppError => toAppErrorWith(err, databaseErrors);

/** The core's onError. */
export const onError = errorHandler(databaseErrors);

export { notFoundHandler };
