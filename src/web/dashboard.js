// `/dashboard`: live figures per queue. It follows the ops event stream (`GET /api/v1/events`,
// Server-Sent Events, opened with a single-use ticket since EventSource sends no header) and
// reads GET /api/v1/queues again whenever an event arrives, instead of polling.
'use strict';

(() => {
  const { el } = SB;
  const $ = (id) => document.getElementById(id);
  const RETRY_MS = 2000;
  if (!SB.header($('who'))) return;

  function card(q) {
    const level = q.service_level === null || q.service_level === undefined ? '—' : `${Math.round(q.service_level * 100)}%`;
    const figures = [
      ['Waiting', q.waiting], ['Longest wait', q.waiting ? `${q.longest_wait_secs} s` : '—'],
      ['Analysts available', q.analysts_available], ['Analysts online', q.analysts_online], ['Active chats', q.active_chats],
      ['Answered today', q.answered_today], ['Unanswered today', q.unanswered_today],
      [`Service level (${q.sla_answer_secs} s)`, level],
    ];
    const h = el('h3', { id: 'q-' + q.id }, q.name);
    return el('section', { class: 'panel', 'aria-labelledby': h.id }, h,
      el('p', { class: 'muted' }, `${q.enabled ? 'Online' : 'Offline'} · ${q.routing} routing`),
      el('table', {}, el('tbody', {}, figures.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'figure' }, String(v)))))));
  }

  async function refresh() {
    try {
      const queues = await SB.api('GET', '/api/v1/queues');
      $('cards').replaceChildren(...queues.map(card));
      $('updated').textContent = `Updated ${SB.time(new Date().toISOString())}`;
      $('error').textContent = '';
    } catch (err) {
      $('error').textContent = `Could not load the figures: ${err.message}`;
    }
  }

  let soonTimer = null;
  const soon = () => { clearTimeout(soonTimer); soonTimer = setTimeout(refresh, 200); };

  async function follow() {
    let source;
    try {
      const { ticket } = await SB.api('POST', '/api/v1/ws-tickets');
      source = new EventSource(`/api/v1/events?ticket=${encodeURIComponent(ticket)}`);
    } catch (err) {
      $('error').textContent = `Live updates paused: ${err.message}`;
      setTimeout(follow, RETRY_MS);
      return;
    }
    source.onopen = () => { $('error').textContent = ''; refresh(); };
    for (const kind of ['queue_stats', 'analyst_status', 'chat_state']) source.addEventListener(kind, soon);
    // A ticket is good once: a lost stream is opened again with a new one.
    source.onerror = () => { source.close(); $('error').textContent = 'Live updates lost: reconnecting…'; setTimeout(follow, RETRY_MS); };
  }

  refresh();
  follow();
})();
