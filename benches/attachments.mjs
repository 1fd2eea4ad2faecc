// Attachment benchmark (contract §12, issue 16), Node 20 (needs --experimental-websocket):
//   node --experimental-websocket benches/attachments.mjs [bin] [msgs_per_sec] [seconds] [users] [analysts]
// defaults: target/release/switchboard 5000 30 1000 100.
// The message traffic is `switchboard load` (the harness of BENCHMARKS.md: `users` chats answered
// by `analysts`, `msgs_per_sec` in total over both sides, open loop), run twice, each time
// against a fresh server on a fresh SQLite file (development profile: demo queues, dev login):
//   1. without uploads: load's deliver p50/p99/p99.9;
//   2. with uploads: the same, while one user uploads a 5 MiB PNG into its own chat, one after
//      another (a new one 1 s after the last 201) for as long as load converses: each upload's
//      time (POST → 201) and load's deliver percentiles meanwhile. Target: deliver p99 within
//      20 % of run 1's (the JSON's `p99_ratio`).
//   3. then, on that server, 20 concurrent 10 MiB uploads (each into its own chat;
//      `limits.max_concurrent_uploads` raised to 32 so none is refused): the server's resident
//      memory (VmRSS sampled every 20 ms, and VmHWM) before and during, and the statuses.
// Prints one JSON object. SB_BENCH_DB=postgres://… uses that database instead of SQLite (it must
// be empty: give a fresh one per run).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const bin = process.argv[2] || 'target/release/switchboard';
const rate = Number(process.argv[3] || 5000);
const seconds = Number(process.argv[4] || 30);
const users = Number(process.argv[5] || 1000);
const analysts = Number(process.argv[6] || 100);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pct(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
}

function png(bytes) {
  const b = Buffer.alloc(bytes);
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(b);
  for (let i = 16; i < bytes; i++) b[i] = (i * 2654435761) >>> 24;
  return b;
}

const env = (port, db) => ({
  ...process.env,
  SWITCHBOARD_ENV: 'development',
  SWITCHBOARD__DATABASE__URL: db,
  SWITCHBOARD__SERVER__BIND: `127.0.0.1:${port}`,
  SWITCHBOARD__LIMITS__MSGS_PER_SEC: '100000',
  SWITCHBOARD__LIMITS__MSGS_BURST: '100000',
  SWITCHBOARD__LIMITS__MAX_CONCURRENT_UPLOADS: '32',
  SWITCHBOARD__LOG__FILTER: 'warn',
});

async function startServer() {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const file = `/tmp/sb-attach-bench-${port}.db`;
  const db = process.env.SB_BENCH_DB || `sqlite://${file}?mode=rwc`;
  const proc = spawn(bin, ['serve'], { env: env(port, db), stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch (_) { /* not yet */ }
    await sleep(100);
  }
  return {
    port, base, proc, db,
    async stop() {
      proc.kill('SIGTERM');
      await sleep(500);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    },
    rss() {
      const s = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
      return { rss_mib: +(kb('VmRSS') / 1024).toFixed(1), hwm_mib: +(kb('VmHWM') / 1024).toFixed(1) };
    },
  };
}

async function token(base, sub, role) {
  const res = await fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub, role, name: sub }) });
  return (await res.json()).token;
}

/// A user with a chat waiting in `access` (uploads need only a participant of an open chat).
async function chatOf(server, sub) {
  const tok = await token(server.base, sub, 'user');
  const t = await (await fetch(`${server.base}/api/v1/ws-tickets`, { method: 'POST', headers: { authorization: `Bearer ${tok}` } })).json();
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?ticket=${t.ticket}`);
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  const chat = await new Promise((r) => {
    ws.onmessage = (ev) => { const f = JSON.parse(ev.data); if (f.ref === 's') r(f.chat_id); };
    ws.send(JSON.stringify({ type: 'start_chat', queue_id: 'access', ref: 's' }));
  });
  return { tok, chat, ws };
}

async function upload(base, tok, chat, data) {
  const t0 = performance.now();
  const res = await fetch(`${base}/api/v1/chats/${chat}/attachments`, {
    method: 'POST', body: data,
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'image/png', 'content-disposition': 'attachment; filename="big.png"' },
  });
  await res.text();
  return { status: res.status, ms: +(performance.now() - t0).toFixed(1) };
}

/// One `switchboard load` run; with `uploads`, 5 MiB uploads back to back while it converses.
async function run(server, withUploads) {
  const json = `/tmp/sb-attach-bench-${server.port}-${withUploads ? 'on' : 'off'}.json`;
  const load = spawn(bin, ['load', '--url', server.base, '--analysts', String(analysts), '--users', String(users),
    '--capacity', '10', '--rate', String(rate), '--duration', `${seconds}s`, '--json', json, '--max-error-rate', '1'],
  { env: env(server.port, server.db), stdio: ['ignore', 'ignore', 'pipe'] });
  let conversing = false;
  let done = false;
  load.stderr.on('data', (d) => { if (String(d).includes('converse')) conversing = true; });
  const exited = new Promise((r) => load.on('exit', () => { done = true; r(); }));
  const uploads = [];
  if (withUploads) {
    const who = await chatOf(server, 'uploader');
    const file = png(5 << 20);
    while (!conversing && !done) await sleep(50);
    while (!done) {
      uploads.push(await upload(server.base, who.tok, who.chat, file));
      await sleep(1000);
    }
    who.ws.close();
  }
  await exited;
  const report = JSON.parse(readFileSync(json, 'utf8'));
  rmSync(json, { force: true });
  const d = report.latency_ms.deliver;
  return {
    messages_per_sec: report.messages_per_sec,
    errors: report.errors,
    deliver_ms: { p50: d.p50, p99: d.p99, p999: d.p999, max: d.max },
    ...(withUploads ? {
      uploads_5mib: uploads.length,
      upload_statuses: [...new Set(uploads.map((u) => u.status))],
      upload_ms: { p50: pct(uploads.map((u) => u.ms), 0.5), max: pct(uploads.map((u) => u.ms), 1) },
    } : {}),
  };
}

async function concurrent(server) {
  const chats = [];
  for (let i = 0; i < 20; i++) chats.push(await chatOf(server, `big${i}`));
  const before = server.rss();
  let peak = before.rss_mib;
  const sampler = setInterval(() => { peak = Math.max(peak, server.rss().rss_mib); }, 20);
  const big = png(10 << 20);
  const t0 = performance.now();
  const results = await Promise.all(chats.map((c) => upload(server.base, c.tok, c.chat, big)));
  clearInterval(sampler);
  chats.forEach((c) => c.ws.close());
  return {
    statuses: [...new Set(results.map((r) => r.status))], wall_ms: +(performance.now() - t0).toFixed(0),
    upload_ms: { p50: pct(results.map((r) => r.ms), 0.5), max: pct(results.map((r) => r.ms), 1) },
    rss_before_mib: before.rss_mib, rss_peak_sampled_mib: peak, vm_hwm_mib: server.rss().hwm_mib,
  };
}

let server = await startServer();
try {
  const without = await run(server, false);
  await server.stop();
  server = await startServer();
  const withUploads = await run(server, true);
  const memory = await concurrent(server);
  console.log(JSON.stringify({
    rate, seconds, users, analysts,
    without_uploads: without,
    with_5mib_uploads: withUploads,
    p99_ratio: without.deliver_ms.p99 ? +(withUploads.deliver_ms.p99 / without.deliver_ms.p99).toFixed(2) : null,
    concurrent_20x10mib: memory,
  }, null, 1));
} finally {
  await server.stop();
}
