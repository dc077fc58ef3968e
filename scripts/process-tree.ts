/**
 * Liveness of processes and process groups for the dev runner and its guardian. kill(pid, 0) alone
 * counts zombies, and a container's PID 1 does not always reap the orphans it inherits (workerd once
 * wrangler has exited), so on Linux /proc decides: a zombie is gone. Elsewhere kill(0) is the answer.
 */
import { readdirSync, readFileSync } from "node:fs";

/** [state, pgrp] from /proc/<pid>/stat, or null when there is no such process (or no /proc). */
function statOf(pid: number): [string, number] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [fields[0]!, Number(fields[2])];
  } catch {
    return null;
  }
}

const hasProc = (() => {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
})();

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function processAlive(pid: number): boolean {
  if (!hasProc) return signalZero(pid);
  const s = statOf(pid);
  return s !== null && s[0] !== "Z";
}

export function groupAlive(pgid: number): boolean {
  if (!hasProc) return signalZero(-pgid);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (s && s[1] === pgid && s[0] !== "Z") return true;
  }
  return false;
}
