// Switchboard client library: the connection. Events as callbacks, the ticket for each connect
// (from the ticket option, or traded for the token), reconnecting with jittered backoff until
// closed, an idle check by `ping`, commands matched to their replies by `ref`, and the HTTP
// calls made with the token. What a connection carries (chats, messages, sends) is chats.js's.

import { SwitchboardError } from './errors.js';
import { call } from './http.js';

/**
 * @typedef {import('./switchboard.js').ClientOptions} ClientOptions
 * @typedef {import('./switchboard.js').ConnectionState} ConnectionState
 * @typedef {import('./switchboard.js').Hello} Hello
 * @typedef {import('./switchboard.js').Person} Person
 */

export class Connection {
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
   * `(state, detail)` when the connection changes, `'resumed'` with a `Resumed` after
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

  dispatch(f) {
    this.emit('*', f);
    this.emit(f.type, f);
  }

  setState(state, detail) {
    this.state = state;
    this.emit('state', state, detail);
  }

  // ---- connecting and reconnecting ----

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
    this.closing();
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
    clearTimeout(this.pingTimer);
    this.failReplies('connection lost');
    this.dropped();
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

  received(data) {
    let f;
    try { f = JSON.parse(data); } catch (_) { return; }
    if ((f.type === 'ok' || f.type === 'error' || f.type === 'pong') && f.ref && this.replies.has(f.ref)) {
      const { resolve, reject } = this.replies.get(f.ref);
      this.replies.delete(f.ref);
      if (f.type === 'error') reject(SwitchboardError.fromFrame(f));
      else resolve(f);
      return;
    }
    if (f.type === 'hello') this.greeted(f);
    else this.frame(f);
  }

  greeted(hello) {
    this.hello = hello;
    this.role = hello.role;
    this.me = hello.user || (hello.analyst ? { id: hello.analyst.id, name: hello.analyst.name } : null);
    this.delay = this.options.minDelayMs;
    this.adopt(hello);
    this.setState('up');
    this.dispatch(hello);
    if (this.firstHello && this.firstHello.resolve) { this.firstHello.resolve(hello); this.firstHello.resolve = null; }
    this.reconnected();
    this.watch();
  }

  // What the layer above does with a connection (chats.js fills these in).
  /** A server frame that answers no command (and is not hello). */
  frame(f) { this.dispatch(f); }
  /** Hello came: before anyone hears of it. */
  adopt(_hello) {}
  /** Hello came: after everyone heard of it. */
  reconnected() {}
  /** The connection was lost (it is being retried). */
  dropped() {}
  /** The client is closed for good. */
  closing() {}

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

  // ---- commands and replies ----

  /**
   * Sends a command and resolves with its `ok` frame (rejects with its `error` as a
   * {@link SwitchboardError}, or with `unavailable` when not connected or the connection is
   * lost before the reply).
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

  ping() { return this.request({ type: 'ping' }); }

  // ---- HTTP ----

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
}
