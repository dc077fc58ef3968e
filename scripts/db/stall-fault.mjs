// Fault hook of the local Neon front door (front-door.mjs): a "stall" holds matching traffic open without
// answering, the way a hung Neon endpoint does (nothing is refused or closed; nothing comes back). Tests use it
// to prove the worker's database deadline (src/db/client.ts). Local and test stacks only.
//
// A stall is scoped by a marker string, so test files running in parallel are not affected: only traffic
// that carries the marker is held.
//   SQL over HTTP  the marker is in the Neon-Connection-String header (e.g. application_name) or in the body
//                  (query text or parameters): the request never reaches Postgres and is never answered.
//   WebSocket      the marker is in the client's bytes (the startup message's application_name, a statement's
//                  parameters): that chunk still reaches Postgres, but from then on nothing reaches the client
//                  and nothing more reaches Postgres. A statement inside a transaction runs and its answer is
//                  lost, the worst case for the client: the transaction stays open until the client drops the
//                  connection (the bridge then closes Postgres's side, which aborts it).
//
// Control, on the front door's own port:
//   POST   /__faults/stall  {"marker": "<at least 8 characters>"}   start holding traffic that carries it
//   DELETE /__faults/stall/<marker>                                  stop; held requests/connections are cut
//   GET    /__faults/stall                                           {markers, held}

const MIN_MARKER = 8;

export function createStallFault(log = () => {}) {
  /** marker -> Set of cut() for the traffic it holds */
  const stalls = new Map();

  const find = (text) => {
    for (const marker of stalls.keys()) if (text.includes(marker)) return marker;
    return undefined;
  };
  const track = (marker, cut) => {
    stalls.get(marker)?.add(cut);
    return () => stalls.get(marker)?.delete(cut);
  };

  return {
    /** Handles /__faults/stall*; returns false for any other path. */
    control(req, res, pathname) {
      if (!pathname.startsWith("/__faults/stall")) return false;
      const reply = (status, body) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "GET" && pathname === "/__faults/stall") {
        const held = Object.fromEntries([...stalls].map(([m, s]) => [m, s.size]));
        reply(200, { markers: [...stalls.keys()], held });
        return true;
      }
      if (req.method === "DELETE" && pathname.startsWith("/__faults/stall/")) {
        const marker = decodeURIComponent(pathname.slice("/__faults/stall/".length));
        const held = stalls.get(marker);
        stalls.delete(marker);
        for (const cut of held ?? []) cut();
        reply(200, { marker, released: held?.size ?? 0 });
        return true;
      }
      if (req.method === "POST" && pathname === "/__faults/stall") {
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (chunk) => {
          text += chunk;
        });
        req.on("end", () => {
          let marker;
          try {
            marker = JSON.parse(text).marker;
          } catch {}
          if (typeof marker !== "string" || marker.length < MIN_MARKER) {
            return reply(400, { message: `body must be {"marker": "<at least ${MIN_MARKER} characters>"}` });
          }
          if (!stalls.has(marker)) stalls.set(marker, new Set());
          log("info", `stall on for marker ${marker}`);
          reply(201, { marker });
        });
        return true;
      }
      reply(405, { message: "use POST /__faults/stall, DELETE /__faults/stall/<marker> or GET /__faults/stall" });
      return true;
    },

    /** SQL over HTTP: true when the request was taken (held until the client gives up or the stall ends). */
    holdsSql(req, res, bodyText) {
      if (stalls.size === 0) return false;
      const marker = find(`${req.headers["neon-connection-string"] ?? ""}\n${bodyText}`);
      if (!marker) return false;
      const untrack = track(marker, () => res.destroy());
      res.on("close", untrack);
      log("debug", `holding a /sql request (marker ${marker})`);
      return true;
    },

    /**
     * WebSocket bridge: a per-connection watcher. `feed(chunk)` with each client chunk; `held` is true from the
     * chunk that carries a marker on (the caller still forwards that chunk, and nothing after it, either way).
     * `cut` ends the connection when the stall is lifted.
     */
    watchWebSocket(cut) {
      let tail = "";
      let held = false;
      return {
        get held() {
          return held;
        },
        feed(buf) {
          if (held || stalls.size === 0) return;
          // latin1 keeps one character per byte, so a marker split across frames is found in tail + chunk.
          const text = tail + buf.toString("latin1");
          const marker = find(text);
          tail = text.slice(-256);
          if (!marker) return;
          held = true;
          track(marker, cut);
          log("debug", `holding a WebSocket connection (marker ${marker})`);
        },
      };
    },
  };
}
