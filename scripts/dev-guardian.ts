/**
 * Stops what `npm run dev` started when dev dies without stopping it (SIGKILL from a CI runner or an
 * IDE, an OOM kill, a crash of Node itself). SIGKILL cannot be trapped and Node has no
 * PR_SET_PDEATHSIG, so another process has to notice: this one, started by dev before anything else,
 * in its own session (a Ctrl-C or a kill of dev's process group does not reach it).
 *
 * dev writes to this process's stdin, one line each:
 *   watch <pid> <group|process> <signal> <name>   stop it (the whole group, or the one process) if dev dies
 *   release <pid>                                 dev stopped it itself
 * The kernel closes the pipe however dev ends, so end-of-input means dev is gone; as a second trigger,
 * so does this process's parent changing (we were re-parented). Then: the given signal to everything
 * still watched and alive, SIGKILL to whatever is left after GRACE_MS, exit. After an orderly stop
 * everything was released and this exits quietly.
 */
import { createInterface } from "node:readline";
import { groupAlive, processAlive } from "./process-tree.ts";

const GRACE_MS = 5_000;
type Watched = { pid: number; group: boolean; signal: NodeJS.Signals; name: string };

const log = (msg: string) => console.error(`[dev-guardian] ${msg}`);
const devPid = process.ppid;
const watched = new Map<number, Watched>();
let finished = false;

const isAlive = (w: Watched) => (w.group ? groupAlive(w.pid) : processAlive(w.pid));
function send(w: Watched, signal: NodeJS.Signals) {
  try {
    process.kill(w.group ? -w.pid : w.pid, signal);
  } catch {
    // ESRCH: nothing left to stop
  }
}

async function stopAll(reason: string) {
  if (finished) return;
  finished = true;
  const left = [...watched.values()].filter(isAlive);
  if (left.length > 0) {
    log(`${reason}; stopping ${left.map((w) => `${w.name} (${w.group ? "group " : "pid "}${w.pid})`).join(", ")}`);
    for (const w of left) send(w, w.signal);
    const deadline = Date.now() + GRACE_MS;
    while (Date.now() < deadline && left.some(isAlive)) await new Promise((r) => setTimeout(r, 100));
    for (const w of left.filter(isAlive)) {
      log(`${w.name} did not stop within ${GRACE_MS / 1000} s: killing it`);
      send(w, "SIGKILL");
    }
  }
  process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  const [verb, pid, scope, signal, ...name] = line.trim().split(/\s+/);
  if (verb === "watch" && Number(pid) > 0) {
    watched.set(Number(pid), { pid: Number(pid), group: scope === "group", signal: signal as NodeJS.Signals, name: name.join(" ") });
  } else if (verb === "release") {
    watched.delete(Number(pid));
  }
});
input.on("close", () => void stopAll(`dev (pid ${devPid}) is gone`));
setInterval(() => {
  if (process.ppid !== devPid) void stopAll(`dev (pid ${devPid}) is gone`);
}, 1_000);
// Asked to stop by someone else: do the job first.
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, () => void stopAll(`received ${s}`));
