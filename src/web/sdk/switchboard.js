// Switchboard client library (contract §13), an ES module for browsers and Node 22+ (or Node 20
// with --experimental-websocket): `SwitchboardClient` connects with a token (traded for a
// single-use ticket on every connect) or a ticket, reconnects with backoff and resumes every
// open chat from the last seq it holds, matches replies to commands by `ref`, re-sends
// unacknowledged messages with their original client_msg_id, and hands out events as callbacks,
// messages in seq order and once each. The engine's own pages and /widget.js use it.

import { ChatLog } from './chatlog.js';
import { SwitchboardError } from './errors.js';
import { call, downloadFile, uploadFile } from './http.js';

export { SwitchboardError };

/**
 * @typedef {{id: string, name: string}} Person
 * @typedef {{role: string, id: string, name: string}} Sender
 * @typedef {{id: string, name: string, content_type: string, size: number, url: string}} Attachment
 * @typedef {{type: 'message', chat_id: string, seq: number, from: Sender, body: string, at: string,
 *   client_msg_id: string|null, attachments?: Attachment[]}} Message
 * @typedef {{chat_id: string, queue_id: string, state: string, user: Person, analyst: Person|null,
 *   subject: string|null, call_id: string, created_at: string, accepted_at: string|null,
 *   ended_at: string|null, end_reason: string|null, position: number|null, last_seq: number}} ChatSummary
 * @typedef {{type: 'hello', role: string, user?: Person, analyst?: {id: string, name: string,
 *   status: string, capacity: number}, queues?: object[], chats: ChatSummary[]}} Hello
 * @typedef {'idle'|'connecting'|'up'|'down'|'refused'|'closed'} ConnectionState
 * @typedef {{chat_id: string, state: string|null, last_seq: number, ended: boolean, error?: SwitchboardError}} Resumed
 * @typedef {string | (() => string | Promise<string>)} Secret
 *
 * @typedef {object} ClientOptions
 * @property {string} [url] The engine's base URL (default: where this module was loaded from).
 * @property {Secret} [token] A JWT, or a function giving one (called on every connect); traded
 *   for a ticket at `POST /api/v1/ws-tickets` and used for HTTP calls.
 * @property {Secret} [ticket] A ticket, or a function giving a fresh one per connect (a plain
 *   string is single use: the client cannot reconnect with it).
 * @property {number} [minDelayMs=500] First reconnect delay; doubled per failure.
 * @property {number} [maxDelayMs=8000] Longest reconnect delay.
 * @property {number} [pingMs=20000] How often an idle connection is checked with `ping`; a ping
 *   not answered within the same time drops the connection (and reconnects). 0 turns it off.
 * @property {number} [gapMs=1000] How long a message may wait behind a missing seq before the
 *   chat is resumed to fill the gap.
 * @property {typeof WebSocket} [WebSocket] The WebSocket class (default: the global one).
 * @property {typeof fetch} [fetch] The fetch function (default: the global one).
 */

const OPEN_STATES = new Set(['waiting', 'offered', 'active']);
const ENDED_STATES = new Set(['closed', 'unanswered']);
/** Send errors worth trying again with the same client_msg_id (it is stored once). */
const RETRY_SEND = new Set(['unavailable', 'rate_limited']);

/** A fresh client_msg_id. */
export function newMessageId() {
  const c = globalThis.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
}

export class SwitchboardClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    this.options = { minDelayMs: 500, maxDelayMs: 8000, pingMs: 20000, gapMs: 1000, ...options };
    /** The engine's base URL, ending in `/`. */
    this.base = new URL('/', options.url || import.meta.url).href;
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    this.fetch = options.fetch || globalThis.fetch.bind(globalThis);
    /** @type {ConnectionState} */
    this.state = 'idle';
    /** @type {WebSocket|null} the live socket (tests close it to drop the connection) */
    this.ws = null;
    /** @type {Hello|null} the last hello */
    this.hello = null;
    /** @type {Person|null} who this client is signed in as */
    this.me = null;
    /** @type {string|null} */
    this.role = null;
    /** @type {string|null} the last token used */
    this.token = typeof options.token === 'string' ? options.token : null;
    this.handlers = new Map();
    this.replies = new Map(); // ref -> {resolve, reject}
    /** @type {Map<string, ChatLog>} the chats this client follows */
    this.chats = new Map();
    this.sends = new Map(); // client_msg_id -> {cmd, echo, resolve, reject, sent}
    this.resumed = new Set(); // chat ids resumed on this connection
    this.nextRef = 1;
    this.delay = this.options.minDelayMs;
    this.stopped = false;
    this.ticketUsed = false;
    this.timers = new Set();
    this.firstHello = null;
  }

  // ---- events ----

  /**
   * Calls `handler(frame)` for every event of `type`: a server frame type (`message`,
   * `chat_accepted`, …, `hello`), `'*'` for every server frame, `'state'` with
   * `(state, detail)` when the connection changes, `'resumed'` with a {@link Resumed} after
   * each chat's `resume`. Messages reach `message` handlers in seq order, once each, the
   * client's own included (from the send's ok).
   * @param {string} type
   * @param {Function} handler
   * @returns {() => void} unsubscribes
   */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  emit(type, ...args) {
    for (const h of [...(this.handlers.get(type) || [])]) {
      try { h(...args); } catch (err) { queueMicrotask(() => { throw err; }); }
    }
  }

  setState(state, detail) {
    this.state = state;
    this.emit('state', state, detail);
  }

  // ---- connection ----

  /**
   * Connects (and keeps reconnecting until {@link close}); resolves with the first hello,
   * rejects when the engine refuses the credentials or the page's origin.
   * @returns {Promise<Hello>}
   */
  connect() {
    if (!this.firstHello) {
      this.firstHello = {};
      this.firstHello.promise = new Promise((resolve, reject) => Object.assign(this.firstHello, { resolve, reject }));
      this.stopped = false;
      this.open();
    }
    return this.firstHello.promise;
  }

  /** Closes the connection for good; commands in flight fail with `unavailable`. */
  close() {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.failReplies('closed by the client');
    for (const s of this.sends.values()) s.reject(new SwitchboardError('unavailable', 'closed by the client'));
    this.sends.clear();
    this.setState('closed');
  }

  /** True while a connection is open and greeted. */
  get connected() {
    return this.state === 'up' && this.ws !== null;
  }

  later(fn, ms) {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
    return t;
  }

  async open() {
    if (this.stopped) return;
    this.setState('connecting');
    let ticket;
    try {
      ticket = await this.ticket();
    } catch (err) {
      if (err instanceof SwitchboardError && (err.status === 401 || err.status === 403 || err.code === 'forbidden_origin' || err.code === 'no_ticket')) {
        return this.refuse(err);
      }
      return this.retry(err);
    }
    if (this.stopped) return;
    const url = new URL('ws', this.base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    const ws = new this.WebSocket(url.href);
    this.ws = ws;
    ws.onmessage = (ev) => { if (this.ws === ws) this.received(ev.data); };
    ws.onclose = (ev) => { if (this.ws === ws) this.lost(ev); };
  }

  refuse(err) {
    this.stopped = true;
    this.setState('refused', err);
    if (this.firstHello) this.firstHello.reject(err);
  }

  retry(why) {
    if (this.stopped) return;
    this.setState('down', why);
    const jittered = this.delay / 2 + Math.random() * (this.delay / 2);
    this.later(() => this.open(), jittered);
    this.delay = Math.min(this.delay * 2, this.options.maxDelayMs);
  }

  lost(ev) {
    this.ws = null;
    this.resumed.clear();
    clearTimeout(this.pingTimer);
    this.failReplies('connection lost');
    for (const s of this.sends.values()) s.sent = false;
    this.retry(new SwitchboardError('unavailable', `connection lost (${ev && ev.code})`));
  }

  failReplies(why) {
    for (const { reject } of this.replies.values()) reject(new SwitchboardError('unavailable', why));
    this.replies.clear();
  }

  /** A ticket for the next connect: from the ticket option, or traded for the token. */
  async ticket() {
    const { ticket } = this.options;
    if (ticket !== undefined) {
      if (typeof ticket === 'function') return await ticket();
      if (this.ticketUsed) throw new SwitchboardError('no_ticket', 'the ticket was used: pass a function to reconnect');
      this.ticketUsed = true;
      return ticket;
    }
    const ok = await this.api('POST', '/api/v1/ws-tickets', undefined, { fresh: true });
    return ok.ticket;
  }

  async currentToken(fresh) {
    const { token } = this.options;
    if (typeof token === 'function') {
      if (fresh || !this.token) this.token = await token();
    } else if (token) {
      this.token = token;
    }
    return this.token;
  }

  /** What the HTTP helpers need of this client. */
  http() {
    return { base: this.base, fetch: this.fetch, token: (fresh) => this.currentToken(fresh) };
  }

  /**
   * An HTTP call to the engine with the token; resolves with the JSON answer, rejects with a
   * {@link SwitchboardError} carrying the problem's code and status. When the engine cannot be
   * read from this page's origin while it answers at all, the code is `forbidden_origin`.
   * @param {string} method
   * @param {string} path e.g. `/api/v1/queues`
   * @param {unknown} [body] sent as JSON
   * @param {{fresh?: boolean}} [opts] `fresh`: ask the token function for a new token first
   */
  api(method, path, body, opts = {}) {
    return call(this.http(), method, path, body, opts);
  }

  // ---- attachments (contract §12) ----

  /**
   * Uploads a file into an open chat for a later `send({attachments: [id]})`; resolves with the
   * attachment as messages list it, rejects with the problem (`payload_too_large`,
   * `unsupported_media_type`, `conflict`…).
   * @param {string} chatId
   * @param {Blob} file
   * @param {string} [name] default: the file's own name
   * @returns {Promise<Attachment>}
   */
  upload(chatId, file, name) {
    return uploadFile(this.http(), chatId, file, name);
  }

  /**
   * An attachment's content (its `url` from a message), read with the token.
   * @param {string} url
   * @returns {Promise<Blob>}
   */
  download(url) {
    return downloadFile(this.http(), url);
  }

  received(data) {
    let f;
    try { f = JSON.parse(data); } catch (_) { return; }
    if ((f.type === 'ok' || f.type === 'error' || f.type === 'pong') && f.ref && this.replies.has(f.ref)) {
      const { resolve, reject } = this.replies.get(f.ref);
      this.replies.delete(f.ref);
      if (f.type === 'error') reject(new SwitchboardError(f.code, f.message));
      else resolve(f);
      return;
    }
    switch (f.type) {
      case 'hello': return this.greeted(f);
      case 'message': this.emit('*', f); return this.ingest(f);
      case 'chat_assigned':
        this.follow(f.chat.chat_id);
        this.resumed.add(f.chat.chat_id);
        this.dispatch(f);
        (f.transcript || []).forEach((m) => this.ingest(m));
        return this.flushSends(f.chat.chat_id);
      case 'chat_closed': {
        const log = this.chats.get(f.chat_id);
        if (log) this.ended(log);
        return this.dispatch(f);
      }
      default: return this.dispatch(f);
    }
  }

  dispatch(f) {
    this.emit('*', f);
    this.emit(f.type, f);
  }

  greeted(hello) {
    this.hello = hello;
    this.role = hello.role;
    this.me = hello.user || (hello.analyst ? { id: hello.analyst.id, name: hello.analyst.name } : null);
    this.delay = this.options.minDelayMs;
    for (const c of hello.chats || []) {
      const mine = hello.role === 'user' || (c.analyst && this.me && c.analyst.id === this.me.id && c.state === 'active');
      if (mine && OPEN_STATES.has(c.state)) this.follow(c.chat_id);
    }
    this.setState('up');
    this.dispatch(hello);
    if (this.firstHello && this.firstHello.resolve) { this.firstHello.resolve(hello); this.firstHello.resolve = null; }
    for (const log of this.chats.values()) if (!log.ended) this.resumeChat(log.chatId);
    this.watch();
  }

  /** Checks an idle connection now and then: a ping left unanswered drops it. */
  watch() {
    const { pingMs } = this.options;
    if (!pingMs) return;
    const ws = this.ws;
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(async () => {
      if (this.ws !== ws || !ws) return;
      const timeout = setTimeout(() => { if (this.ws === ws) ws.close(4000, 'ping unanswered'); }, pingMs);
      try { await this.request({ type: 'ping' }); } catch (_) { /* lost anyway */ }
      clearTimeout(timeout);
      if (this.ws === ws) this.watch();
    }, pingMs);
  }

  // ---- chats and messages ----

  /**
   * Follows a chat (its messages are kept, ordered and resumed); returns its log.
   * @param {string} chatId
   * @returns {ChatLog}
   */
  follow(chatId) {
    let log = this.chats.get(chatId);
    if (!log) { log = new ChatLog(chatId); this.chats.set(chatId, log); }
    return log;
  }

  /**
   * The messages held for a chat, in seq order (e.g. to draw a window opened late).
   * @param {string} chatId
   * @returns {Message[]}
   */
  messages(chatId) {
    const log = this.chats.get(chatId);
    return log ? [...log.messages] : [];
  }

  /**
   * Gives the client messages it did not get over this connection (kept from an earlier page,
   * or read from the HTTP transcript), so that `resume` starts after them.
   * @param {string} chatId
   * @param {Message[]} messages
   */
  seed(chatId, messages) {
    this.follow(chatId);
    [...messages].sort((a, b) => a.seq - b.seq).forEach((m) => this.ingest({ ...m, chat_id: chatId }));
  }

  /** Stops following a chat (its messages are forgotten). */
  forget(chatId) {
    this.chats.delete(chatId);
  }

  ingest(m) {
    const log = this.follow(m.chat_id);
    for (const out of log.add(m, this.role === 'user')) this.emit('message', out);
    if (log.gapped && !log.gapTimer) {
      log.gapTimer = this.later(() => {
        log.gapTimer = null;
        if (log.gapped && this.connected) this.resumeChat(log.chatId);
      }, this.options.gapMs);
    }
  }

  ended(log) {
    log.ended = true;
    for (const [id, s] of this.sends) {
      if (s.cmd.chat_id === log.chatId) {
        this.sends.delete(id);
        s.reject(new SwitchboardError('conflict', 'the chat has ended'));
      }
    }
  }

  /** `resume` from the last seq held; on `too_far_behind` the HTTP transcript first. */
  async resumeChat(chatId) {
    const log = this.follow(chatId);
    let result;
    try {
      const ok = await this.request({ type: 'resume', chat_id: chatId, after_seq: log.lastSeq });
      for (const m of log.release()) this.emit('message', m);
      result = { chat_id: chatId, state: ok.state, last_seq: ok.last_seq };
      if (ENDED_STATES.has(ok.state)) this.ended(log);
    } catch (err) {
      if (err.code === 'unavailable' && !this.connected) return; // resumed again on reconnect
      if (err.code === 'too_far_behind' && this.token) {
        try {
          const detail = await this.api('GET', `/api/v1/chats/${encodeURIComponent(chatId)}`);
          this.seed(chatId, detail.transcript);
          return this.resumeChat(chatId);
        } catch (e) { err = e; }
      }
      if (err.code === 'not_found' || err.code === 'forbidden') this.ended(log);
      result = { chat_id: chatId, state: null, last_seq: log.lastSeq, error: err };
    }
    this.resumed.add(chatId);
    this.emit('resumed', { ...result, ended: log.ended });
    this.flushSends(chatId);
  }

  // ---- commands ----

  /**
   * Sends a command and resolves with its `ok` frame (rejects with its `error`, or with
   * `unavailable` when not connected or the connection is lost before the reply).
   * @param {{type: string, [field: string]: unknown}} cmd
   * @returns {Promise<any>}
   */
  request(cmd) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== 1) {
        return reject(new SwitchboardError('unavailable', 'not connected'));
      }
      const ref = 'c' + this.nextRef++;
      this.replies.set(ref, { resolve, reject });
      this.ws.send(JSON.stringify({ ...cmd, ref }));
    });
  }

  /** A command with no reply wanted (typing); dropped when not connected. */
  tell(cmd) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(cmd));
  }

  /**
   * Posts a message; resolves with `{chat_id, seq, at}` once stored. Sent again with the same
   * client_msg_id (stored once) after a reconnect or an `unavailable`, until an answer comes.
   * @param {{chat_id: string, body?: string, client_msg_id?: string, attachments?: string[]}} msg
   * @param {{attachments?: Attachment[]}} [shown] what the echoed message carries for the sender
   * @returns {Promise<{chat_id: string, seq: number, at: string, client_msg_id: string}>}
   */
  send(msg, shown = {}, type = 'send') {
    const cmd = { type, ...msg, client_msg_id: msg.client_msg_id || newMessageId() };
    this.follow(cmd.chat_id);
    return new Promise((resolve, reject) => {
      this.sends.set(cmd.client_msg_id, { cmd, shown, resolve, reject, sent: false });
      this.transmit(cmd.client_msg_id);
    });
  }

  transmit(id) {
    const s = this.sends.get(id);
    if (!s || s.sent || !this.connected || !this.resumed.has(s.cmd.chat_id)) return;
    s.sent = true;
    this.request(s.cmd).then((ok) => {
      this.sends.delete(id);
      const me = this.me || { id: '', name: '' };
      this.ingest({
        type: 'message', chat_id: s.cmd.chat_id, seq: ok.seq, at: ok.at, body: s.cmd.body || '',
        client_msg_id: id, from: { role: this.role, id: me.id, name: me.name },
        attachments: s.shown.attachments || [],
        visibility: s.cmd.type === 'whisper' ? 'internal' : 'all',
      });
      s.resolve({ ...ok, client_msg_id: id });
    }, (err) => {
      s.sent = false;
      if (err.code === 'unavailable' && !this.connected) return; // sent again after resume
      if (RETRY_SEND.has(err.code)) { this.later(() => this.transmit(id), 1000); return; }
      this.sends.delete(id);
      s.reject(err);
    });
  }

  flushSends(chatId) {
    for (const [id, s] of this.sends) if (s.cmd.chat_id === chatId) this.transmit(id);
  }

  /** Messages sent but not yet acknowledged, per chat: `[{client_msg_id, body}]`. */
  unsent(chatId) {
    return [...this.sends.values()].filter((s) => s.cmd.chat_id === chatId)
      .map((s) => ({ client_msg_id: s.cmd.client_msg_id, body: s.cmd.body }));
  }

  /**
   * `start_chat` (users): resolves with `{chat_id, call_id, position}`; the chat is followed.
   * @param {{queue_id: string, subject?: string, call_id?: string}} args
   */
  async startChat(args) {
    const ok = await this.request({ type: 'start_chat', ...args });
    this.follow(ok.chat_id);
    this.resumed.add(ok.chat_id);
    return ok;
  }

  /**
   * `accept` (staff): resolves with `{chat, transcript}`; the chat is followed and its
   * transcript taken (see {@link messages}).
   * @param {string} chatId
   */
  async accept(chatId) {
    const ok = await this.request({ type: 'accept', chat_id: chatId });
    this.follow(chatId);
    this.resumed.add(chatId);
    (ok.transcript || []).forEach((m) => this.ingest(m));
    this.flushSends(chatId);
    return ok;
  }

  /** @param {string} chatId */
  closeChat(chatId) { return this.request({ type: 'close_chat', chat_id: chatId }); }
  /** @param {string} chatId */
  typing(chatId) { this.tell({ type: 'typing', chat_id: chatId }); }
  /** @param {'available'|'busy'|'away'|'offline'} status */
  setStatus(status) { return this.request({ type: 'set_status', status }); }
  /** @param {string} chatId */
  decline(chatId) { return this.request({ type: 'decline', chat_id: chatId }); }
  /** @param {string} chatId @param {string} callId */
  linkCall(chatId, callId) { return this.request({ type: 'link_call', chat_id: chatId, call_id: callId }); }
  /**
   * @param {string} chatId
   * @param {{queue_id: string} | {analyst_id: string}} to
   */
  transfer(chatId, to) { return this.request({ type: 'transfer', chat_id: chatId, ...to }); }
  ping() { return this.request({ type: 'ping' }); }

  // ---- supervising and the survey (contract §9.3, §9.4) ----

  /**
   * `monitor` (managers of the chat's queue, admins): resolves with `{chat, transcript}`; the
   * chat is followed, its transcript taken, and it is resumed on reconnect like any other.
   * @param {string} chatId
   */
  async monitor(chatId) {
    const ok = await this.request({ type: 'monitor', chat_id: chatId });
    this.follow(chatId);
    this.resumed.add(chatId);
    (ok.transcript || []).forEach((m) => this.ingest(m));
    this.flushSends(chatId);
    return ok;
  }

  /** @param {string} chatId */
  async unmonitor(chatId) {
    const ok = await this.request({ type: 'unmonitor', chat_id: chatId });
    this.forget(chatId);
    return ok;
  }

  /**
   * A message for the chat's staff only (`visibility: internal`), stored and retried like `send`.
   * @param {{chat_id: string, body: string, client_msg_id?: string}} msg
   */
  whisper(msg) { return this.send(msg, {}, 'whisper'); }
  /** @param {string} chatId */
  join(chatId) { return this.request({ type: 'join', chat_id: chatId }); }
  /** @param {string} chatId */
  leave(chatId) { return this.request({ type: 'leave', chat_id: chatId }); }
  /**
   * `rate` (users, once an answered chat has ended): score 1–5 and an optional comment.
   * @param {string} chatId @param {number} score @param {string} [comment]
   */
  rate(chatId, score, comment) {
    return this.request({ type: 'rate', chat_id: chatId, score, ...(comment ? { comment } : {}) });
  }
}
