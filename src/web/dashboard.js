// `/dashboard`: live figures per queue, polled from GET /api/v1/queues every few seconds.
'use strict';

(() => {
  const { el } = SB;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 3000;
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

  refresh();
  setInterval(refresh, POLL_MS);
})();
