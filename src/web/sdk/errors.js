// Switchboard client library: the one error type every command, HTTP call and lost connection
// rejects with.

/** An `error` reply, a refused HTTP call or a lost connection. */
export class SwitchboardError extends Error {
  /**
   * @param {string} code a contract error code (`unavailable` when the connection was lost)
   * @param {string} [message]
   * @param {number} [status] the HTTP status, for HTTP calls
   */
  constructor(code, message, status) {
    super(message || code);
    this.name = 'SwitchboardError';
    /** @type {string} */
    this.code = code;
    /** @type {number|undefined} */
    this.status = status;
  }
}
