// Switchboard client library: the one error type every command, HTTP call and lost connection
// rejects with.

/** An `error` reply, a refused HTTP call or a lost connection. */
export class SwitchboardError extends Error {
  /**
   * @param {string} code a contract error code (`unavailable` when the connection was lost)
   * @param {string} [message]
   * @param {number} [status] the HTTP status, for HTTP calls
   * @param {{opens_at?: string|null}} [detail] what the error carries besides its code
   */
  constructor(code, message, status, detail = {}) {
    super(message || code);
    this.name = 'SwitchboardError';
    /** @type {string} */
    this.code = code;
    /** @type {number|undefined} */
    this.status = status;
    /**
     * `queue_closed` (contract §8.3): when the queue opens next (RFC 3339), or null when it
     * has no next opening; undefined for every other error.
     * @type {string|null|undefined}
     */
    this.opens_at = detail.opens_at;
  }

  /**
   * The error of an `error` frame, with what it carries.
   * @param {{code: string, message?: string, opens_at?: string|null}} frame
   */
  static fromFrame(frame) {
    return new SwitchboardError(frame.code, frame.message, undefined,
      'opens_at' in frame ? { opens_at: frame.opens_at } : {});
  }
}
