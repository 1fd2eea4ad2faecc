// Switchboard client library: one chat's messages as the client holds them. Messages are kept
// in `seq` order with no duplicates; a message that arrives ahead of a gap is held back until
// the gap is filled (by `resume`), so whoever listens sees 1, 2, 3, … exactly once each.

/**
 * @typedef {import('./switchboard.js').Message} Message
 */

/** Messages kept per chat (the oldest are dropped from memory past this; the engine keeps all). */
export const MAX_KEPT = 2000;

export class ChatLog {
  /** @param {string} chatId */
  constructor(chatId) {
    /** @type {string} */
    this.chatId = chatId;
    /** The highest seq delivered with every seq below it delivered too. */
    this.lastSeq = 0;
    /** @type {Message[]} delivered messages, in seq order */
    this.messages = [];
    /** @type {Map<number, Message>} messages past a gap, waiting for it to fill */
    this.ahead = new Map();
    /** True once the chat is known to have ended (it is then no longer resumed). */
    this.ended = false;
  }

  /**
   * Takes a message; returns the messages now deliverable in order (none for a duplicate or a
   * message past a gap). `gapsExpected`: the user's view, where whispers to the chat's staff
   * (`visibility: internal`) take seqs the user never sees, so a gap is no sign of a loss.
   * @param {Message} m
   * @param {boolean} [gapsExpected]
   * @returns {Message[]}
   */
  add(m, gapsExpected = false) {
    if (!Number.isInteger(m.seq) || m.seq <= this.lastSeq || this.ahead.has(m.seq)) return [];
    if (m.seq !== this.lastSeq + 1 && !gapsExpected) {
      this.ahead.set(m.seq, m);
      return [];
    }
    const out = [m];
    this.lastSeq = m.seq;
    while (this.ahead.has(this.lastSeq + 1)) {
      const next = /** @type {Message} */ (this.ahead.get(this.lastSeq + 1));
      this.ahead.delete(next.seq);
      out.push(next);
      this.lastSeq = next.seq;
    }
    this.messages.push(...out);
    if (this.messages.length > MAX_KEPT) this.messages.splice(0, this.messages.length - MAX_KEPT);
    return out;
  }

  /** True while a message is held back behind a missing seq. */
  get gapped() {
    return this.ahead.size > 0;
  }

  /**
   * After a `resume` answered `last_seq`: everything up to it has been replayed, so what is
   * still held back (a seq the engine skipped cannot exist) is released in order.
   * @returns {Message[]}
   */
  release() {
    const held = [...this.ahead.values()].sort((a, b) => a.seq - b.seq);
    this.ahead.clear();
    const out = [];
    for (const m of held) {
      if (m.seq <= this.lastSeq) continue;
      this.lastSeq = m.seq;
      out.push(m);
    }
    this.messages.push(...out);
    return out;
  }
}
