// The client library (/sdk/switchboard.js, as the engine serves it) against the real engine, with
// Node's test runner: run by tests/sdk.rs, which starts the engine with the demo data and passes
// SB_URL, SB_SDK (a folder holding the served modules), SB_USER_TOKEN (Emma) and
// SB_ANALYST_TOKEN (Bob, a member of the manual queue "access") and SB_ADMIN_TOKEN.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { SwitchboardClient } = await import(`${process.env.SB_SDK}/switchboard.js`);
const { ChatLog } = await import(`${process.env.SB_SDK}/chatlog.js`);
const { waitWords, positionWords } = await import(`${process.env.SB_SDK}/switchboard.js`);
const url = process.env.SB_URL;
const clients = [];

function client(options) {
  const c = new SwitchboardClient({ url, minDelayMs: 50, maxDelayMs: 200, gapMs: 200, ...options });
  clients.push(c);
  return c;
}

async function until(what, cond, ms = 15000) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stored bodies of a chat, in seq order, read over HTTP. */
async function stored(c, chatId) {
  const detail = await c.api('GET', `/api/v1/chats/${chatId}`);
  return detail.transcript.map((m) => [m.seq, m.body]);
}

const bodies = (seen) => seen.map((m) => m.body);
const seqs = (seen) => seen.map((m) => m.seq);
const contiguous = (seen) => seqs(seen).every((s, i) => s === i + 1);

test('ChatLog hands out messages in seq order, once each, holding back what comes past a gap', () => {
  const log = new ChatLog('c');
  const m = (seq) => ({ type: 'message', chat_id: 'c', seq, body: `b${seq}` });
  assert.deepEqual(seqs(log.add(m(2))), []);
  assert.ok(log.gapped);
  assert.deepEqual(seqs(log.add(m(1))), [1, 2]);
  assert.deepEqual(seqs(log.add(m(2))), [], 'a repeat is dropped');
  assert.deepEqual(seqs(log.add(m(1))), []);
  assert.deepEqual(seqs(log.add(m(5))), []);
  assert.deepEqual(seqs(log.add(m(4))), []);
  assert.deepEqual(seqs(log.add(m(3))), [3, 4, 5]);
  assert.equal(log.lastSeq, 5);
  assert.deepEqual(seqs(log.messages), [1, 2, 3, 4, 5]);
});

let chatId;
let user;
let analyst;
const userSeen = [];
const analystSeen = [];

test('a user and an analyst chat; each reply reaches the command it answers', async () => {
  user = client({ token: process.env.SB_USER_TOKEN });
  analyst = client({ token: process.env.SB_ANALYST_TOKEN });
  user.on('message', (m) => userSeen.push(m));
  analyst.on('message', (m) => analystSeen.push(m));
  const hello = await user.connect();
  assert.equal(hello.role, 'user');
  assert.equal(user.me.id, 'emma');
  await analyst.connect();
  await analyst.setStatus('available');

  const [pong, refused, started] = await Promise.allSettled([
    user.ping(),
    user.request({ type: 'start_chat', queue_id: 'no-such-queue' }),
    user.startChat({ queue_id: 'access', subject: 'printer' }),
  ]);
  assert.equal(pong.value.type, 'pong');
  assert.equal(refused.reason.code, 'not_found');
  assert.equal(started.value.position, 1);
  chatId = started.value.chat_id;

  const accepted = await analyst.accept(chatId);
  assert.equal(accepted.chat.chat_id, chatId);
  const sent = await user.send({ chat_id: chatId, body: 'one' });
  assert.equal(sent.seq, 1);
  assert.ok(sent.client_msg_id, 'a generated client_msg_id');
  await analyst.send({ chat_id: chatId, body: 'two' });
  await until('both have both messages', () => userSeen.length === 2 && analystSeen.length === 2);
  assert.deepEqual(bodies(userSeen), ['one', 'two'], 'the sender sees its own message in its place');
  assert.deepEqual(bodies(analystSeen), ['one', 'two']);
  assert.equal(userSeen[0].from.id, 'emma');
});

test('a dropped connection reconnects, resumes and sends what waited, nothing lost or doubled', async () => {
  const resumed = [];
  user.on('resumed', (r) => resumed.push(r));
  user.ws.close();
  const queued = user.send({ chat_id: chatId, body: 'three (sent while down)' });
  await analyst.send({ chat_id: chatId, body: 'four' });
  await analyst.send({ chat_id: chatId, body: 'five' });
  const ok = await queued;
  await until('the user has all five', () => userSeen.length === 5);
  await until('the analyst has all five', () => analystSeen.length === 5);
  assert.ok(resumed.some((r) => r.chat_id === chatId && r.state === 'active' && !r.ended), JSON.stringify(resumed));
  assert.ok(contiguous(userSeen), `user seqs ${seqs(userSeen)}`);
  assert.ok(contiguous(analystSeen), `analyst seqs ${seqs(analystSeen)}`);
  assert.equal(userSeen.find((m) => m.seq === ok.seq).body, 'three (sent while down)');
  assert.deepEqual((await stored(user, chatId)).map(([s]) => s), [1, 2, 3, 4, 5]);
});

test('a send whose reply was cut off is sent again with its client_msg_id and stored once', async () => {
  const pending = user.send({ chat_id: chatId, body: 'six (reply cut off)', client_msg_id: 'cut-off-1' });
  user.ws.close();
  const ok = await pending;
  assert.equal(ok.client_msg_id, 'cut-off-1');
  const rows = await stored(user, chatId);
  assert.equal(rows.filter(([, b]) => b === 'six (reply cut off)').length, 1, JSON.stringify(rows));
  await until('the analyst has it', () => analystSeen.length === 6);
  assert.ok(contiguous(analystSeen));
  await until('the user has it once', () => userSeen.length === 6);
  assert.equal(bodies(userSeen).filter((b) => b === 'six (reply cut off)').length, 1);
});

test('a fresh client resumes an open chat from its own hello, whole and in order', async () => {
  const again = client({ token: process.env.SB_USER_TOKEN });
  const seen = [];
  again.on('message', (m) => seen.push(m));
  await again.connect();
  await until('the history is back', () => seen.length === 6);
  assert.deepEqual(bodies(seen), bodies(userSeen));
  assert.deepEqual(again.messages(chatId).map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  again.close();
});

test('messages given by seed are not fetched again and later ones follow them', async () => {
  const seeded = client({ token: process.env.SB_USER_TOKEN });
  seeded.seed(chatId, userSeen.slice(0, 4));
  const seen = [];
  seeded.on('message', (m) => seen.push(m));
  await seeded.connect();
  await until('the rest arrives', () => seen.length === 2);
  assert.deepEqual(seqs(seen), [5, 6]);
  seeded.close();
});

test('events reach their callbacks; the chat ends for both', async () => {
  const closed = [];
  user.on('chat_closed', (e) => closed.push(e));
  await analyst.closeChat(chatId);
  await until('the user is told', () => closed.length === 1);
  assert.equal(closed[0].by.id, 'bob');
  await assert.rejects(user.send({ chat_id: chatId, body: 'too late' }), (err) => err.code === 'conflict');
});

test('a ticket connects; a single ticket cannot reconnect, a ticket function can', async () => {
  const { ticket } = await user.api('POST', '/api/v1/ws-tickets');
  const once = client({ ticket });
  const states = [];
  once.on('state', (s, why) => states.push([s, why && why.code]));
  assert.equal((await once.connect()).role, 'user');
  once.ws.close();
  await until('refused', () => once.state === 'refused');
  assert.deepEqual(states.at(-1), ['refused', 'no_ticket']);

  const fresh = client({ ticket: async () => (await user.api('POST', '/api/v1/ws-tickets')).ticket });
  await fresh.connect();
  const after = [];
  fresh.on('state', (s) => after.push(s));
  fresh.ws.close();
  await until('up again', () => after.includes('up'));
  assert.deepEqual(after, ['down', 'connecting', 'up']);
});

test('a bad token is refused, with the status, and no retry', async () => {
  const bad = client({ token: 'not-a-token' });
  await assert.rejects(bad.connect(), (err) => err.status === 401 && err.code === 'unauthorized');
  assert.equal(bad.state, 'refused');
});

test('the wait in words, as the pages and the widget say it', () => {
  assert.equal(waitWords(null), '');
  assert.equal(waitWords(0), 'Less than a minute');
  assert.equal(waitWords(59), 'Less than a minute');
  assert.equal(waitWords(89), 'About 1 minute');
  assert.equal(waitWords(180), 'About 3 minutes');
  assert.equal(positionWords(2, 180), 'You are number 2 in the queue. Estimated wait: About 3 minutes');
  assert.equal(positionWords(1, null), 'You are number 1 in the queue');
  assert.equal(positionWords(null, 30), '');
});

test('a closed queue refuses start_chat with the time it opens on the error', async () => {
  const admin = client({ token: process.env.SB_ADMIN_TOKEN });
  // Open half an hour a day, starting two hours from now (UTC): closed now, opening then.
  const hour = (new Date().getUTCHours() + 2) % 24;
  const hh = String(hour).padStart(2, '0');
  const days = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [[`${hh}:00`, `${hh}:30`]]]));
  await admin.api('PUT', '/api/v1/queues/after-hours', {
    name: 'After hours', routing: 'manual', schedule: { timezone: 'UTC', weekly: days },
  });
  await admin.api('PUT', '/api/v1/queues/after-hours/members/bob', { role: 'analyst' });
  await assert.rejects(user.startChat({ queue_id: 'after-hours' }), (err) => {
    assert.equal(err.code, 'queue_closed');
    const opens = new Date(err.opens_at);
    assert.equal(opens.getUTCHours(), hour, err.opens_at);
    assert.ok(opens > new Date() && opens - new Date() < 26 * 3600 * 1000, err.opens_at);
    return true;
  });
});

test.after(() => { for (const c of clients) c.close(); });
