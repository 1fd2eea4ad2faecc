// The Chat Manager: the manager's queues, each with its Enabled checkbox (PATCH /queues/{id}),
// and the analyst table with status, open chats and Chat User, a status select per analyst
// (PATCH /analysts/{id}). Refreshed on the manager's own WebSocket events and by polling, so
// changes made elsewhere show up without reloading. Each active chat in the table has a
// `Monitor` button: it opens the chat read-only with a `Whisper` box (Enter sends a message
// only the analyst sees), a `Join` / `Leave` button and `Stop monitoring` (contract §9.3).
import { SwitchboardClient } from '/sdk/switchboard.js';

(() => {
  const { el, api } = SB;
  const $ = (id) => document.getElementById(id);
  const say = (text) => SB.notice($('notices'), text);
  const POLL_MS = 3000;
  const queueRows = new Map();
  const analystRows = new Map();
  const lastStatus = new Map();
  const busy = new Set(); // controls with a change in flight: refreshes leave them alone
  let queueNames = new Map();

  if (!SB.header($('who'))) { $('conn').textContent = 'Not signed in'; return; }
  $('console-link').href = '/console#token=' + encodeURIComponent(SB.token);
  const client = new SwitchboardClient({ token: SB.token });
  SBFiles.use(client);
  client.on('state', SB.connState($('conn')));
  client.on('*', onFrame);
  const monitored = new Map(); // chat_id -> {win, controls, joinButton, joined}
  client.on('message', (m) => { const w = monitored.get(m.chat_id); if (w) w.win.addMessage(m); });
  client.on('typing', (f) => { const w = monitored.get(f.chat_id); if (w) w.win.setTyping(f.from.name); });
  client.on('chat_closed', (f) => {
    const w = monitored.get(f.chat_id);
    if (w) { w.win.end(`Chat ended${f.by ? ` by ${f.by.name}` : ''}.`); w.controls.hidden = true; }
  });
  client.on('hello', (h) => (h.monitoring || []).forEach((id) => { if (!monitored.has(id)) monitor(id, null); }));
  const byWords = (by) => (by && by.id === SB.me.sub ? 'you' : (by ? by.name : 'the system'));

  function onFrame(f) {
    if (f.type === 'queue_status') {
      say(`Queue ${queueNames.get(f.queue_id) || f.queue_id} is now ${f.enabled ? 'online' : 'offline'} (changed by ${byWords(f.by)})`);
    } else if (f.type === 'chat_assigned' || f.type === 'chat_offered') {
      say(`A chat with ${f.chat.user.name} is ${f.type === 'chat_assigned' ? 'assigned' : 'offered'} to you: open My console to answer it.`);
    } else if (f.type === 'status_changed') {
      say(`Your availability is now ${SB.STATUS_LABELS[f.status]} (changed by ${byWords(f.by)})`);
    }
    if (['hello', 'queue_status', 'status_changed', 'chat_queued', 'chat_dequeued', 'chat_assigned', 'chat_closed'].includes(f.type)) soon();
  }

  let soonTimer = null;
  function soon() { clearTimeout(soonTimer); soonTimer = setTimeout(refresh, 150); }

  async function refresh() {
    try {
      const queues = await api('GET', '/api/v1/queues');
      queueNames = new Map(queues.map((q) => [q.id, q.name]));
      const managed = [];
      const analysts = new Map();
      await Promise.all(queues.map(async (q) => {
        try {
          const rows = await api('GET', `/api/v1/queues/${encodeURIComponent(q.id)}/analysts`);
          managed.push(q);
          for (const a of rows) {
            const seen = analysts.get(a.id) || { ...a, queues: [] };
            seen.queues.push(q.name);
            analysts.set(a.id, seen);
          }
        } catch (err) {
          if (err.status !== 404 && err.status !== 403) throw err;
        }
      }));
      managed.sort((a, b) => a.name.localeCompare(b.name));
      renderQueues(managed);
      renderAnalysts([...analysts.values()].sort((a, b) => a.name.localeCompare(b.name)));
      $('error').textContent = managed.length ? '' : 'You manage no queues.';
    } catch (err) {
      $('error').textContent = `Could not refresh: ${err.message}`;
    }
  }

  function renderQueues(queues) {
    const body = $('queues');
    const keep = new Set(queues.map((q) => q.id));
    for (const [id, row] of queueRows) if (!keep.has(id)) { row.tr.remove(); queueRows.delete(id); }
    for (const q of queues) {
      let row = queueRows.get(q.id);
      if (!row) {
        const box = el('input', { type: 'checkbox', id: 'enabled-' + q.id, 'aria-describedby': 'qname-' + q.id });
        box.addEventListener('change', () => setEnabled(q.id, box));
        row = { box, cells: [0, 1, 2, 3, 4].map(() => el('td')), name: el('th', { scope: 'row', id: 'qname-' + q.id }) };
        row.tr = el('tr', { 'data-queue': q.id }, row.name, ...row.cells,
          el('td', {}, el('div', { class: 'row' }, row.box, el('label', { for: box.id }, 'Enabled'))));
        queueRows.set(q.id, row);
      }
      row.name.textContent = q.name;
      const v = [q.routing, q.waiting, q.waiting ? `${q.longest_wait_secs} s` : '—', `${q.analysts_available} / ${q.analysts_online}`, q.active_chats];
      row.cells.forEach((c, i) => { c.textContent = String(v[i]); });
      if (!busy.has(row.box)) row.box.checked = q.enabled;
      body.append(row.tr);
    }
  }

  async function setEnabled(queueId, box) {
    busy.add(box);
    try {
      await api('PATCH', `/api/v1/queues/${encodeURIComponent(queueId)}`, { enabled: box.checked });
    } catch (err) {
      box.checked = !box.checked;
      say(`Could not change queue ${queueNames.get(queueId) || queueId}: ${err.message}`);
    } finally {
      busy.delete(box);
      soon();
    }
  }

  function renderAnalysts(analysts) {
    const body = $('analysts');
    const keep = new Set(analysts.map((a) => a.id));
    for (const [id, row] of analystRows) if (!keep.has(id)) { row.tr.remove(); analystRows.delete(id); }
    for (const a of analysts) {
      let row = analystRows.get(a.id);
      if (!row) {
        const id = 'status-' + a.id;
        const select = el('select', { id }, Object.entries(SB.STATUS_LABELS).map(([v, label]) => el('option', { value: v }, label)));
        select.addEventListener('change', () => setStatus(a, select));
        row = { select, label: el('label', { for: id, class: 'visually-hidden' }), cells: [0, 1, 2, 3].map(() => el('td')), name: el('th', { scope: 'row' }) };
        row.tr = el('tr', { 'data-analyst': a.id }, row.name, el('td', {}, row.label, select), ...row.cells);
        analystRows.set(a.id, row);
      }
      row.name.textContent = a.name;
      const skills = Object.entries(a.skills || {}).map(([k, l]) => `${k} ${l}`).join(', ');
      row.name.title = skills ? `Skills: ${skills}` : 'No skills';
      row.label.textContent = `Status for ${a.name}`;
      if (!busy.has(row.select)) row.select.value = a.status;
      row.cells[0].textContent = a.connected ? 'yes' : 'no';
      row.cells[1].textContent = `${a.open_chats} of ${a.capacity}`;
      // Rebuilt only when the chats change, so a button is not swapped under a click.
      const chatKey = a.chat_users.map((c) => c.chat_id).join(',');
      if (row.chatKey !== chatKey) row.cells[2].replaceChildren(...(a.chat_users.length ? a.chat_users.map((c, i) => [i ? ', ' : '',
        el('a', { href: `/chats/${c.chat_id}#token=${encodeURIComponent(SB.token)}`, target: '_blank' }, c.user.name), ' ',
        el('button', { type: 'button', class: 'secondary', title: `Monitor the chat with ${c.user.name}`, onclick: () => monitor(c.chat_id) }, 'Monitor')]).flat() : ['—']));
      row.chatKey = chatKey;
      row.cells[3].textContent = a.queues.join(', ');
      const before = lastStatus.get(a.id);
      if (before && before !== a.status && !busy.has(row.select)) say(`${a.name} is now ${SB.STATUS_LABELS[a.status]}`);
      lastStatus.set(a.id, a.status);
      body.append(row.tr);
    }
  }

  async function setStatus(analyst, select) {
    busy.add(select);
    const status = select.value;
    try {
      if (analyst.id === SB.me.sub) await client.setStatus(status);
      else await api('PATCH', `/api/v1/analysts/${encodeURIComponent(analyst.id)}`, { status });
      lastStatus.set(analyst.id, status);
      say(`${analyst.name} is now ${SB.STATUS_LABELS[status]} (changed by you)`);
    } catch (err) {
      select.value = lastStatus.get(analyst.id) || 'offline';
      say(`Could not change ${analyst.name}'s status: ${err.message || err.code}`);
    } finally {
      busy.delete(select);
      soon();
    }
  }

  // Opens a monitored chat: its transcript, then a Whisper box, Join / Leave, Stop monitoring.
  async function monitor(chatId) {
    if (monitored.has(chatId)) return;
    let ok;
    try {
      ok = await client.monitor(chatId);
    } catch (err) {
      say(`Could not monitor the chat: ${err.message || err.code}`);
      return;
    }
    const userName = ok.chat.user.name;
    const win = new ChatWindow({ title: `Monitoring chat with ${userName}`, selfId: SB.me.sub, readOnly: true, callDetails: false });
    const whisperId = 'whisper-' + chatId;
    const whisper = el('input', { type: 'text', id: whisperId, maxlength: '8000', placeholder: 'Only the analyst sees this; Enter sends' });
    const joinButton = el('button', { type: 'button' }, 'Join');
    const stop = el('button', { type: 'button', class: 'secondary' }, 'Stop monitoring');
    const controls = el('div', { class: 'row' }, el('label', { for: whisperId }, 'Whisper'), whisper, joinButton, stop);
    win.root.append(controls);
    const w = { win, controls, joinButton, joined: false };
    monitored.set(chatId, w);
    $('monitored').append(win.root);
    client.messages(chatId).forEach((m) => win.addMessage(m));
    whisper.addEventListener('keydown', async (ev) => {
      if (ev.key !== 'Enter' || !whisper.value.trim()) return;
      ev.preventDefault();
      const body = whisper.value.trim();
      whisper.value = '';
      try { await client.whisper({ chat_id: chatId, body }); } catch (err) { say(`Could not whisper: ${err.message || err.code}`); whisper.value = body; }
    });
    joinButton.addEventListener('click', async () => {
      try {
        if (w.joined) await client.leave(chatId); else await client.join(chatId);
        w.joined = !w.joined;
        joinButton.textContent = w.joined ? 'Leave' : 'Join';
        say(w.joined ? `You joined the chat with ${userName}.` : `You left the chat with ${userName}.`);
      } catch (err) { say(`Could not ${w.joined ? 'leave' : 'join'} the chat: ${err.message || err.code}`); }
    });
    stop.addEventListener('click', async () => {
      try { await client.unmonitor(chatId); } catch (_) { /* gone anyway */ }
      win.root.remove();
      monitored.delete(chatId);
    });
    say(`You are monitoring the chat with ${userName}.`);
  }

  client.connect().catch(() => { /* shown by the connection line */ });
  refresh();
  setInterval(refresh, POLL_MS);
})();
