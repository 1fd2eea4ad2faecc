// Switchboard client library: what a waiting user is told, in words (contract §8.4): the place
// in the queue and the estimated wait ("About 3 minutes" / "Less than a minute"). The engine's
// /chat page and /widget.js say it the same way.

/**
 * The estimated wait in words; '' when no estimate can be made (null).
 * @param {number|null|undefined} secs
 * @returns {string}
 */
export function waitWords(secs) {
  if (secs === null || secs === undefined) return '';
  if (secs < 60) return 'Less than a minute';
  const minutes = Math.round(secs / 60);
  return minutes === 1 ? 'About 1 minute' : `About ${minutes} minutes`;
}

/**
 * "You are number N in the queue. Estimated wait: About 3 minutes"; '' when not waiting.
 * @param {number|null|undefined} position
 * @param {number|null|undefined} [estimate] seconds, null when none can be made
 * @returns {string}
 */
export function positionWords(position, estimate) {
  if (!position) return '';
  const words = waitWords(estimate);
  return `You are number ${position} in the queue${words ? `. Estimated wait: ${words}` : ''}`;
}

/**
 * A queue's opening time in words for a closed queue: " It opens Tuesday, 1 December 2026 at 08:00." ('' when
 * it has none), from `queue_closed`'s `opens_at` or a queue view's `next_change_at`.
 * @param {string|null|undefined} opensAt RFC 3339
 * @returns {string}
 */
export function opensWords(opensAt) {
  if (!opensAt) return '';
  const at = new Date(opensAt);
  if (Number.isNaN(at.getTime())) return '';
  return ` It opens ${at.toLocaleString([], { dateStyle: 'full', timeStyle: 'short' })}.`;
}

/**
 * A skill's name as a person reads it: `french` → "French", `vpn_access` → "Vpn access".
 * @param {string} name
 */
export function skillWords(name) {
  const spaced = String(name).replace(/[_-]+/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
