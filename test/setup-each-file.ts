/**
 * Runs before every test file of the workerd project. The files share one isolate (isolate: false in
 * vitest.config.ts), so module state outlives a file, as it outlives a request in production. The
 * Paytm circuit breaker is such state: it counts consecutive failed calls per isolate, and the fault
 * tests count theirs from a closed breaker, so each file starts with one.
 */
import { beforeAll } from "vitest";
import { resetPaytmCircuitBreakers } from "../src/paytm/client";

beforeAll(() => resetPaytmCircuitBreakers());
