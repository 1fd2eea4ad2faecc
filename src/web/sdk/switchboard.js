// Switchboard client library (contract §13), an ES module for browsers and Node 22+ (or Node 20
// with --experimental-websocket): `SwitchboardClient` connects with a token (traded for a
// single-use ticket on every connect) or a ticket, reconnects with backoff and resumes every
// open chat from the last seq it holds, matches replies to commands by `ref`, re-sends
// unacknowledged messages with their original client_msg_id, and hands out events as callbacks,
// messages in seq order and once each. The engine's own pages and /widget.js use it.
//
// This module holds the public types and the typed commands; the rest is layered beneath it:
// connection.js (socket, reconnect, refs, HTTP), chats.js (followed chats, resume, re-sent
// sends), chatlog.js (one chat's ordered messages), http.js, errors.js, and words.js (what a
// waiting user is told, shared by the pages and the widget).

import { Chats, newMessageId } from './chats.js';
import { SwitchboardError } from './errors.js';
import { downloadFile, uploadFile } from './http.js';

export { SwitchboardError, newMessageId };
export { waitWords, positionWords, opensWords, skillWords } from './words.js';

/**
 * @typedef {{id: string, name: string}} Person
 * @typedef {{role: string, id: string, name: string}} Sender
 * @typedef {{id: string, name: string, content_type: string, size: number, url: string}} Attachment
 * @typedef {{type: 'message', chat_id: string, seq: number, from: Sender, body: string, at: string,
 *   client_msg_id: string|null, attachments?: Attachment[]}} Message
 * @typedef {{chat_id: string, queue_id: string, state: string, user: Person, analyst: Person|null,
 *   subject: string|null, call_id: string, created_at: string, accepted_at: string|null,
 *   ended_at: string|null, end_reason: string|null, position: number|null, last_seq: number,
 *   skills: {name: string, level: number}[], skills_relaxed: number}} ChatSummary
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

/**
 * A client for one principal (a user, an analyst, a manager or an admin): see
 * {@link ClientOptions}. Events: `on(type, handler)`; connection: `connect()`, `close()`,
 * `state`; chats: `messages`, `seed`, `forget`, `send`, `whisper`, `unsent`; HTTP: `api`,
 * `upload`, `download`; and the commands below.
 */
export class SwitchboardClient extends Chats {
  /**
   * `start_chat` (users): resolves with `{chat_id, call_id, position, estimated_wait_secs}`;
   * the chat is followed. Rejects with `queue_closed` carrying `opens_at` outside hours.
   * @param {{queue_id: string, subject?: string, call_id?: string, call_ref?: string,
   *   skills?: {name: string, level?: number}[]}} args
   */
  async startChat(args) {
    const ok = await this.request({ type: 'start_chat', ...args });
    this.took(ok.chat_id);
    return ok;
  }

  /**
   * `accept` (staff): resolves with `{chat, transcript}`; the chat is followed and its
   * transcript taken (see `messages`).
   * @param {string} chatId
   */
  async accept(chatId) {
    const ok = await this.request({ type: 'accept', chat_id: chatId });
    this.took(chatId, ok.transcript || []);
    return ok;
  }

  /** @param {string} chatId */
  closeChat(chatId) { return this.request({ type: 'close_chat', chat_id: chatId }); }
  /** @param {string} chatId */
  typing(chatId) { this.tell({ type: 'typing', chat_id: chatId }); }
  /**
   * @param {'available'|'busy'|'away'|'offline'} status
   * @param {'now'|'after_chats'} [when] `after_chats`: once the open chats and wrap-ups end
   */
  setStatus(status, when = 'now') { return this.request({ type: 'set_status', status, when }); }
  /** @param {string} chatId @param {string} code @param {string} [note] */
  wrapUp(chatId, code, note) {
    return this.request({ type: 'wrap_up', chat_id: chatId, code, ...(note ? { note } : {}) });
  }
  /** @param {string} chatId */
  decline(chatId) { return this.request({ type: 'decline', chat_id: chatId }); }
  /** @param {string} chatId @param {string} callId */
  linkCall(chatId, callId) { return this.request({ type: 'link_call', chat_id: chatId, call_id: callId }); }
  /**
   * @param {string} chatId
   * @param {{queue_id: string} | {analyst_id: string}} to
   */
  transfer(chatId, to) { return this.request({ type: 'transfer', chat_id: chatId, ...to }); }

  // ---- attachments (contract §12) ----

  /**
   * Uploads a file into an open chat for a later `send({attachments: [id]})`; resolves with the attachment as messages list it, rejects with the problem
   * (`payload_too_large`, `unsupported_media_type`, `conflict`…).
   * @param {string} chatId
   * @param {Blob} file
   * @param {string} [name] default: the file's own name
   * @param {(fraction: number) => void} [onProgress] called as the upload goes (in a browser)
   * @returns {Promise<Attachment>}
   */
  upload(chatId, file, name, onProgress) {
    return uploadFile(this.http(), chatId, file, name, onProgress);
  }

  /**
   * An attachment's content (its `url` from a message), read with the token.
   * @param {string} url
   * @returns {Promise<Blob>}
   */
  download(url) {
    return downloadFile(this.http(), url);
  }

  // ---- supervising and the survey (contract §9.3, §9.4) ----

  /**
   * `monitor` (managers of the chat's queue, admins): resolves with `{chat, transcript}`; the
   * chat is followed, its transcript taken, and it is resumed on reconnect like any other.
   * @param {string} chatId
   */
  async monitor(chatId) {
    const ok = await this.request({ type: 'monitor', chat_id: chatId });
    this.took(chatId, ok.transcript || []);
    return ok;
  }

  /** @param {string} chatId */
  async unmonitor(chatId) {
    const ok = await this.request({ type: 'unmonitor', chat_id: chatId });
    this.forget(chatId);
    return ok;
  }

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
