// Webhook benchmarks (contract §10.1, issue 15), Node 20:
//   node benches/webhooks.mjs overhead   [bin] [msgs_per_sec=10000] [seconds=60] [users=5000] [analysts=500]
//   node benches/webhooks.mjs throughput [bin] [chats=2000] [analysts=200]
//   node benches/webhooks.mjs drain      [bin] [outage_secs=600] [chats_per_sec=10] [analysts=200]
// bin defaults to target/release/switchboard. Each run starts the binary on a fresh SQLite file
// (development profile, demo data off; SB_BENCH_DB=postgres://… for an empty PostgreSQL database
// instead) and a local receiver in this process (an HTTP server on 127.0.0.1 answering 200 to
// every POST and recording when each delivery arrived). Traffic is `switchboard load`.
//   overhead:   load at msgs_per_sec twice, on fresh servers: without an endpoint, then with one
//               subscribed to every event type. Target: deliver p99 on within 10 % of off
//               (`p99_ratio`).
//   throughput: an endpoint for every event; `chats` users start their chats at once (analysts
//               accept them; load then closes them): deliveries/s the receiver got, first to
//               last, once nothing more arrives for 5 s.
//   drain:      an endpoint for every event, the receiver down (its port closed) for outage_secs
//               while chats_per_sec chats start; then it comes back: the backlog (deliveries
//               received after it is back) and the time from then until no delivery is pending
//               (`GET /webhooks/bench/deliveries?status=pending`, every 500 ms). The retries follow `webhooks.retry_base_secs` backoff, so a long
//               outage drains at its next retries; SWITCHBOARD__WEBHOOKS__RETRY_BASE_SECS may be
//               set in the environment to see the effect.
// Prints one JSON object.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';

const scenario = process.argv[2] || 'overhead';
const bin = process.argv[3] || 'target/release/switchboard';
const arg = (i, d) => Number(process.argv[4 + i] || d);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ALL = ['call.created', 'chat.queued', 'chat.accepted', 'chat.transferred', 'chat.ended',
  'chat.wrapped_up', 'chat.rated', 'analyst.status_changed', 'queue.status_changed'];

/// The receiver: 200 to every POST; `arrivals` holds when each delivery came (ms).
function receiver(port) {
  const r = { arrivals: [], server: null, port };
  const listen = () => new Promise((ok) => {
    r.server = createServer((req, res) => {
      req.on('data', () => {});
      req.on('end', () => { r.arrivals.push(performance.now()); res.writeHead(200); res.end(); });
    });
    r.server.listen(port, '127.0.0.1', ok);
  });
  r.up = listen;
  r.down = () => new Promise((ok) => { r.server.closeAllConnections(); r.server.close(() => ok()); });
  return r;
}

async function startServer() {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const file = `/tmp/sb-webhook-bench-${port}.db`;
  const db = process.env.SB_BENCH_DB || `sqlite://${file}?mode=rwc`;
  const env = {
    ...process.env,
    SWITCHBOARD_ENV: 'development',
    SWITCHBOARD__SEED__DEMO: 'false',
    SWITCHBOARD__DATABASE__URL: db,
    SWITCHBOARD__SERVER__BIND: `127.0.0.1:${port}`,
    SWITCHBOARD__LIMITS__MSGS_PER_SEC: '100000',
    SWITCHBOARD__LIMITS__MSGS_BURST: '100000',
    SWITCHBOARD__LOG__FILTER: 'warn',
  };
  const proc = spawn(bin, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch (_) { /* not yet */ }
    await sleep(100);
  }
  const admin = (await (await fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'bench-admin', role: 'admin', name: 'Bench' }) })).json()).token;
  return {
    base, env, admin,
    async subscribe(url) {
      const res = await fetch(`${base}/api/v1/webhooks/bench`, { method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url, events: ALL }) });
      if (res.status !== 201) throw new Error(`PUT /webhooks/bench: ${res.status} ${await res.text()}`);
    },
    /// Whether any delivery of the endpoint is still pending.
    async pending() {
      const res = await fetch(`${base}/api/v1/webhooks/bench/deliveries?status=pending&limit=1`,
        { headers: { authorization: `Bearer ${admin}` } });
      return (await res.json()).deliveries.length > 0;
    },
    async stop() {
      proc.kill('SIGTERM');
      await sleep(500);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    },
  };
}

/// One `switchboard load` run with `flags`; its JSON report.
async function load(server, flags) {
  const json = `/tmp/sb-webhook-bench-${process.pid}-${Date.now()}.json`;
  const child = spawn(bin, ['load', '--url', server.base, '--capacity', '10', '--max-error-rate', '1',
    '--json', json, ...flags], { env: server.env, stdio: ['ignore', 'ignore', 'ignore'] });
  await new Promise((r) => child.on('exit', r));
  const report = JSON.parse(readFileSync(json, 'utf8'));
  rmSync(json, { force: true });
  return report;
}

/// Waits until no delivery has arrived for `quietMs`; the arrivals since `from`.
async function settled(rx, quietMs, from = 0) {
  for (;;) {
    const last = rx.arrivals.length ? rx.arrivals[rx.arrivals.length - 1] : from;
    if (performance.now() - Math.max(last, from) > quietMs) break;
    await sleep(200);
  }
  return rx.arrivals.filter((t) => t >= from);
}

const rxPort = 29900 + Math.floor(Math.random() * 90);
const rx = receiver(rxPort);
await rx.up();
const hook = `http://127.0.0.1:${rxPort}/hooks`;
let result;
if (scenario === 'overhead') {
  const [rate, seconds, users, analysts] = [arg(0, 10000), arg(1, 60), arg(2, 5000), arg(3, 500)];
  const flags = ['--analysts', String(analysts), '--users', String(users), '--rate', String(rate), '--duration', `${seconds}s`];
  const runs = {};
  for (const on of [false, true]) {
    const server = await startServer();
    if (on) await server.subscribe(hook);
    const before = rx.arrivals.length;
    const r = await load(server, flags);
    runs[on ? 'webhooks_on' : 'webhooks_off'] = {
      messages_per_sec: r.messages_per_sec, errors: r.errors, deliver_ms: r.latency_ms.deliver,
      deliveries_received: rx.arrivals.length - before,
    };
    await server.stop();
  }
  result = { scenario, rate, seconds, users, analysts, ...runs,
    p99_ratio: +(runs.webhooks_on.deliver_ms.p99 / runs.webhooks_off.deliver_ms.p99).toFixed(3) };
} else if (scenario === 'throughput') {
  const [chats, analysts] = [arg(0, 2000), arg(1, 200)];
  const server = await startServer();
  await server.subscribe(hook);
  await load(server, ['--analysts', String(analysts), '--users', String(chats), '--rate', '0', '--duration', '1s']);
  const got = await settled(rx, 5000);
  const span = (got[got.length - 1] - got[0]) / 1000;
  result = { scenario, chats, analysts, deliveries: got.length, span_s: +span.toFixed(2),
    deliveries_per_sec: +(got.length / span).toFixed(1) };
  await server.stop();
} else if (scenario === 'drain') {
  const [outage, perSec, analysts] = [arg(0, 600), arg(1, 10), arg(2, 200)];
  const server = await startServer();
  await server.subscribe(hook);
  await rx.down();
  const t0 = performance.now();
  // The chats start at perSec for the outage's length (load then converses 1 s and closes them).
  const users = outage * perSec;
  const running = load(server, ['--analysts', String(analysts), '--users', String(users), '--rate', '0',
    '--duration', '1s', '--start-rate', String(perSec), '--assign-timeout', `${outage + 60}s`]);
  while (performance.now() - t0 < outage * 1000) await sleep(500);
  await rx.up();
  const back = performance.now();
  const backlog = await (async () => { await running; return rx.arrivals.length; })();
  // Drained: nothing pending (asked every 500 ms), whatever the backoff's next retries are.
  while (await server.pending()) await sleep(500);
  const drained = performance.now();
  const got = rx.arrivals.filter((t) => t >= back);
  result = { scenario, outage_s: outage, chats_per_sec: perSec, chats: users,
    deliveries_after_back: got.length, received_by_load_end: backlog,
    drain_s: +((drained - back) / 1000).toFixed(1),
    first_after_back_s: got.length ? +((got[0] - back) / 1000).toFixed(1) : null };
  await server.stop();
} else {
  throw new Error(`unknown scenario ${scenario}: overhead | throughput | drain`);
}
await rx.down();
console.log(JSON.stringify(result, null, 1));
