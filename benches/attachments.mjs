// Attachment benchmark (contract §12, issue 16), a client like any other, Node 20:
//   node --experimental-websocket benches/attachments.mjs [path/to/switchboard] [msgs_per_sec]
// Starts the given binary (default target/release/switchboard) on a fresh SQLite file in the
// development profile (demo data, dev login), then:
//   1. a user sends `msgs_per_sec` messages/s to Alice for 8 s: deliver latency (send → Alice's
//      `message`), without uploads;
//   2. the same with a 5 MiB PNG uploaded into the chat at 2 s: the upload's time and deliver
//      latency meanwhile;
//   3. 20 concurrent 10 MiB uploads (each into its own chat): the server's resident memory
//      (VmRSS sampled every 20 ms, and VmHWM) before and during.
// Prints one JSON object.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const bin = process.argv[2] || 'target/release/switchboard';
const rate = Number(process.argv[3] || 500);
const port = 18000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;
const db = `/tmp/sb-attach-bench-${port}.db`;
const server = spawn(bin, ['serve'], {
  env: {
    ...process.env,
    SWITCHBOARD_ENV: 'development',
    SWITCHBOARD__DATABASE__URL: `sqlite://${db}?mode=rwc`,
    SWITCHBOARD__SERVER__BIND: `127.0.0.1:${port}`,
    SWITCHBOARD__LIMITS__MSGS_PER_SEC: '100000',
    SWITCHBOARD__LIMITS__MSGS_BURST: '100000',
    SWITCHBOARD__LOG__FILTER: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUp() {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch (_) { /* not yet */ }
    await sleep(100);
  }
  throw new Error('server did not start');
}

async function token(sub, role) {
  const res = await fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub, role, name: sub }) });
  return (await res.json()).token;
}

async function socket(tok) {
  const t = await (await fetch(`${base}/api/v1/ws-tickets`, { method: 'POST', headers: { authorization: `Bearer ${tok}` } })).json();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?ticket=${t.ticket}`);
  const waiting = new Map();
  const handlers = [];
  let n = 0;
  ws.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.ref && waiting.has(f.ref)) { waiting.get(f.ref)(f); waiting.delete(f.ref); }
    handlers.forEach((h) => h(f));
  };
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  return {
    cmd(c) { const ref = `r${++n}`; ws.send(JSON.stringify({ ...c, ref })); return new Promise((r) => waiting.set(ref, r)); },
    on(h) { handlers.push(h); },
    close() { ws.close(); },
  };
}

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

async function upload(tok, chat, data) {
  const t0 = performance.now();
  const res = await fetch(`${base}/api/v1/chats/${chat}/attachments`, {
    method: 'POST', body: data,
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'image/png', 'content-disposition': 'attachment; filename="big.png"' },
  });
  await res.text();
  return { status: res.status, ms: +(performance.now() - t0).toFixed(1) };
}

function rss() {
  const s = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
  return { rss_mib: +(kb('VmRSS') / 1024).toFixed(1), hwm_mib: +(kb('VmHWM') / 1024).toFixed(1) };
}

async function flow(user, alice, chat, seconds, during) {
  const sentAt = new Map();
  const lat = [];
  alice.on((f) => { if (f.type === 'message' && sentAt.has(f.client_msg_id)) lat.push(performance.now() - sentAt.get(f.client_msg_id)); });
  const extra = during ? sleep(2000).then(during) : Promise.resolve(null);
  const total = rate * seconds;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const id = `${seconds}-${during ? 'u' : 'n'}-${i}`;
    sentAt.set(id, performance.now());
    user.cmd({ type: 'send', chat_id: chat, body: `message ${i}`, client_msg_id: id });
  }
  const upload = await extra;
  await sleep(1000);
  return { sent: total, delivered: lat.length, deliver_ms: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: pct(lat, 1) }, upload };
}

try {
  await waitUp();
  const aliceTok = await token('alice', 'analyst');
  const alice = await socket(aliceTok);
  await alice.cmd({ type: 'set_status', status: 'available' });
  const userTok = await token('emma', 'user');
  const user = await socket(userTok);
  const chat = (await user.cmd({ type: 'start_chat', queue_id: 'service-desk' })).chat_id;
  await sleep(500);
  const without = await flow(user, alice, chat, 8, null);
  const withUpload = await flow(user, alice, chat, 8, () => upload(userTok, chat, png(5 << 20)));
  // 20 chats of 20 users (the demo queue's analysts answer some; uploads need only a participant).
  const chats = [];
  for (let i = 0; i < 20; i++) {
    const tok = await token(`load${i}`, 'user');
    const ws = await socket(tok);
    const ok = await ws.cmd({ type: 'start_chat', queue_id: 'access' });
    chats.push({ tok, chat: ok.chat_id });
  }
  const before = rss();
  let peak = before.rss_mib;
  const sampler = setInterval(() => { peak = Math.max(peak, rss().rss_mib); }, 20);
  const big = png(10 << 20);
  const t0 = performance.now();
  const results = await Promise.all(chats.map((c) => upload(c.tok, c.chat, big)));
  clearInterval(sampler);
  const after = rss();
  console.log(JSON.stringify({
    rate, without_uploads: without, with_5mib_upload: withUpload,
    concurrent_20x10mib: {
      statuses: [...new Set(results.map((r) => r.status))], wall_ms: +(performance.now() - t0).toFixed(0),
      upload_ms: { p50: pct(results.map((r) => r.ms), 0.5), max: pct(results.map((r) => r.ms), 1) },
      rss_before_mib: before.rss_mib, rss_peak_sampled_mib: peak, vm_hwm_mib: after.hwm_mib,
    },
  }, null, 1));
  alice.close(); user.close();
} finally {
  server.kill('SIGTERM');
  await sleep(500);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
}
