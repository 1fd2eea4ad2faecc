// Switchboard client library: the chats a connection carries. Which chats are followed (from
// hello, assignments and starts), each one's messages in seq order once each (ChatLog), resuming
// every open chat after a reconnect (the HTTP transcript first when too far behind), and sends
// with a generated client_msg_id that are re-sent with the same id until answered.

import { ChatLog } from './chatlog.js';
import { Connection } from './connection.js';
import { SwitchboardError } from './errors.js';

/**
 * @typedef {import('./switchboard.js').Message} Message
 * @typedef {import('./switchboard.js').Attachment} Attachment
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

export class Chats extends Connection {
  /** @param {import('./switchboard.js').ClientOptions} [options] */
  constructor(options = {}) {
    super(options);
    /** @type {Map<string, ChatLog>} the chats this client follows */
    this.chats = new Map();
    this.sends = new Map(); // client_msg_id -> {cmd, shown, resolve, reject, sent}
    this.resumed = new Set(); // chat ids resumed on this connection
  }

  // ---- what the connection hands over ----

  frame(f) {
    switch (f.type) {
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

  adopt(hello) {
    for (const c of hello.chats || []) {
      const mine = hello.role === 'user' || (c.analyst && this.me && c.analyst.id === this.me.id && c.state === 'active');
      if (mine && OPEN_STATES.has(c.state)) this.follow(c.chat_id);
    }
  }

  reconnected() {
    for (const log of this.chats.values()) if (!log.ended) this.resumeChat(log.chatId);
  }

  dropped() {
    this.resumed.clear();
    for (const s of this.sends.values()) s.sent = false;
  }

  closing() {
    for (const s of this.sends.values()) s.reject(new SwitchboardError('unavailable', 'closed by the client'));
    this.sends.clear();
  }

  // ---- chats and their messages ----

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
   * Follows a chat this client has just been given (started, accepted, monitored): it counts
   * as resumed on this connection, and its transcript is taken.
   * @param {string} chatId
   * @param {Message[]} [transcript]
   */
  took(chatId, transcript = []) {
    this.follow(chatId);
    this.resumed.add(chatId);
    transcript.forEach((m) => this.ingest(m));
    this.flushSends(chatId);
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

  // ---- sends, re-sent until answered ----

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

  /**
   * A message for the chat's staff only (`visibility: internal`), stored and retried like `send`.
   * @param {{chat_id: string, body: string, client_msg_id?: string}} msg
   */
  whisper(msg) { return this.send(msg, {}, 'whisper'); }

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
}
