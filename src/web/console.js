// The analyst's console: Availability, the Chat Queue (Waiting live from chat_queued and
// chat_dequeued; Unanswered and Answered from GET /api/v1/chats), several Chat windows with call
// details, notices in words, and reconnect-and-resume (by the client library) without losing or
// doubling messages.
import { SwitchboardClient } from '/sdk/switchboard.js';

(() => {
  const { el, api } = SB;
  const $ = (id) => document.getElementById(id);
  const notices = $('notices');
  const say = (text) => SB.notice(notices, text);
  const availability = $('availability');
  const queues = new Map();
  const waiting = new Map(); // chat_id -> {chat, offered, expires_at}
  const windows = new Map(); // chat_id -> {win, chat}
  let current = 'waiting';
  let status = 'offline';

  if (!SB.header($('who'))) { $('conn').textContent = 'Not signed in'; return; }
  if (SB.me.role === 'manager') $('manager-link').hidden = false;
  $('manager-link').href = '/console/manager#token=' + encodeURIComponent(SB.token);

  const client = new SwitchboardClient({ token: SB.token });
  SBFiles.use(client);
  window.switchboardSocket = client; // for diagnostics (and the tests that drop the connection)
  client.on('state', SB.connState($('conn')));
  client.on('*', onFrame);
  client.on('message', (m) => { const e = windows.get(m.chat_id); if (e) e.win.addMessage(m); });
  client.on('resumed', (r) => { const e = windows.get(r.chat_id); if (e && r.ended) ended(e, null, null); });
  const queueName = (id) => (queues.get(id) || { name: id }).name;
  const byWords = (by) => (by && SB.me && by.id === SB.me.sub ? 'you' : (by ? by.name : 'the system'));

  function setStatus(s) {
    status = s;
    availability.value = s;
  }

  // A status asked for "after current chats" (§9.2), until it applies or is replaced.
  function showPending(pending) {
    const node = $('pending-status');
    node.hidden = !pending;
    node.textContent = pending ? `${SB.STATUS_LABELS[pending]} after current chats` : '';
  }

  availability.addEventListener('change', async () => {
    const wanted = availability.value;
    try {
      const ok = await client.setStatus(wanted, $('after-chats').checked ? 'after_chats' : 'now');
      setStatus(ok.status || status);
      showPending(ok.pending_status);
    } catch (err) {
      const words = err.code === 'wrap_up_required' ? 'finish your wrap-up first' : err.message || err.code;
      say(`Could not change availability: ${words}`);
      availability.value = status;
    }
  });

  // ---- Wrap-up (§9.1): one form a pending wrap-up, until submitted or its deadline ----
  const wrapUps = new Map(); // chat_id -> form
  function endWrapUp(chatId) {
    const form = wrapUps.get(chatId);
    if (form) form.remove();
    wrapUps.delete(chatId);
    $('wrap-ups-panel').hidden = wrapUps.size === 0;
  }
  function startWrapUp(w) {
    if (wrapUps.has(w.chat_id)) return;
    const entry = windows.get(w.chat_id);
    const about = entry ? `the chat with ${entry.chat.user.name}` : 'an ended chat';
    const id = SB.uid();
    const code = el('select', { id: `wu-code-${id}` }, w.codes.map((c) => el('option', { value: c }, c.replace(/_/g, ' '))));
    const note = el('textarea', { id: `wu-note-${id}`, rows: '2', maxlength: '2000' });
    const form = el('form', {
      class: 'wrap-up', 'aria-label': `Wrap-up of ${about}`,
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await client.wrapUp(w.chat_id, code.value, note.value.trim());
          endWrapUp(w.chat_id);
          say(`Wrap-up of ${about} saved: ${code.value.replace(/_/g, ' ')}.`);
        } catch (err) {
          if (err.code === 'not_found') endWrapUp(w.chat_id);
          say(`Could not save the wrap-up: ${err.message || err.code}`);
        }
      },
    },
    el('p', {}, `Wrap up ${about} by ${SB.time(w.deadline)}.`),
    el('label', { for: code.id }, 'Wrap-up code'), code,
    el('label', { for: note.id }, 'Note'), note,
    el('button', { type: 'submit' }, 'Submit wrap-up'));
    wrapUps.set(w.chat_id, form);
    $('wrap-ups').append(form);
    $('wrap-ups-panel').hidden = false;
    const left = Date.parse(w.deadline) - Date.now();
    setTimeout(() => {
      if (wrapUps.get(w.chat_id) !== form) return;
      endWrapUp(w.chat_id);
      say(`The wrap-up of ${about} timed out.`);
    }, Math.max(0, left) + 1000);
    code.focus();
  }

  // ---- Chat Queue ----
  // Rows are kept per chat (and rebuilt only when an offer comes or goes), so focus on an Accept
  // button survives other chats arriving.
  const waitingRows = new Map(); // chat_id -> {li, offered}
  function renderWaiting() {
    const list = $('list-waiting');
    const chats = [...waiting.values()].sort((a, b) => a.chat.created_at.localeCompare(b.chat.created_at));
    for (const [id, row] of waitingRows) if (!waiting.has(id)) { row.li.remove(); waitingRows.delete(id); }
    for (const w of chats) {
      let row = waitingRows.get(w.chat.chat_id);
      if (!row || row.offered !== w.offered) {
        const li = waitingItem(w);
        if (row) row.li.replaceWith(li);
        row = { li, offered: w.offered };
        waitingRows.set(w.chat.chat_id, row);
      }
      list.append(row.li);
    }
    $('count-waiting').textContent = String(chats.length);
    $('empty-waiting').hidden = chats.length > 0;
  }

  function waitingItem({ chat, offered, expires_at }) {
    const labelId = 'w-' + chat.chat_id;
    const accept = el('button', { type: 'button', 'aria-describedby': labelId, onclick: () => accept_(chat.chat_id) }, 'Accept');
    const buttons = el('div', { class: 'row' }, accept);
    if (offered) buttons.append(el('button', { type: 'button', class: 'secondary', 'aria-describedby': labelId, onclick: () => decline(chat.chat_id) }, 'Decline'));
    return el('li', {},
      el('div', { id: labelId },
        el('strong', {}, chat.user.name),
        el('div', { class: 'meta' }, `${queueName(chat.queue_id)} · waiting since ${SB.time(chat.created_at)}`,
          chat.subject ? ` · ${chat.subject}` : '',
          chat.skills && chat.skills.length ? ` · asks ${chat.skills.map((k) => `${k.name} ${k.level}`).join(', ')}${chat.skills_relaxed ? ' (widened)' : ''}` : '',
          offered ? ` · offered to you until ${SB.time(expires_at)}` : '')),
      buttons);
  }

  async function loadList(filter) {
    const list = $('list-' + filter);
    try {
      const { chats } = await api('GET', `/api/v1/chats?filter=${filter}&limit=50`);
      list.replaceChildren(...chats.map((c) => el('li', {},
        el('div', {}, el('strong', {}, c.user.name),
          el('div', { class: 'meta' }, `${queueName(c.queue_id)} · ${SB.time(c.created_at)}`,
            c.analyst ? ` · ${c.analyst.name}` : '', c.end_reason ? ` · ${c.end_reason.replace(/_/g, ' ')}` : '')),
        el('a', { href: `/chats/${c.chat_id}#token=${encodeURIComponent(SB.token)}`, target: '_blank' }, 'Transcript'))));
      if (chats.length === 0) list.append(el('li', { class: 'muted' }, 'None yet.'));
    } catch (err) {
      list.replaceChildren(el('li', { class: 'error' }, `Could not load: ${err.message}`));
    }
  }

  let refreshTimer = null;
  function refreshLists() {
    if (current === 'waiting') return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => loadList(current), 300);
  }

  const tabs = [...document.querySelectorAll('[role=tab]')];
  function selectTab(tab, focus) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    current = tab.dataset.filter;
    if (focus) tab.focus();
    if (current !== 'waiting') loadList(current);
  }
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => selectTab(t, false));
    t.addEventListener('keydown', (ev) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
      if (step) selectTab(tabs[(i + step + tabs.length) % tabs.length], true);
      if (ev.key === 'Home') selectTab(tabs[0], true);
      if (ev.key === 'End') selectTab(tabs[tabs.length - 1], true);
    });
  });

  async function accept_(chatId) {
    try {
      const ok = await client.accept(chatId);
      waiting.delete(chatId);
      renderWaiting();
      openWindow(ok.chat);
    } catch (err) {
      say(err.code === 'conflict' ? 'That chat was already taken.' : `Could not accept: ${err.message || err.code}`);
    }
  }

  async function decline(chatId) {
    try {
      await client.decline(chatId);
      waiting.delete(chatId);
      renderWaiting();
    } catch (err) {
      say(`Could not decline: ${err.message || err.code}`);
    }
  }

  // ---- Chat windows ----
  function openWindow(chat) {
    let entry = windows.get(chat.chat_id);
    if (!entry) {
      const chatId = chat.chat_id;
      const win = new ChatWindow({
        title: `Chat with ${chat.user.name}`,
        selfId: SB.me.sub,
        chatId,
        onSend: (body, id, files) => client.send({ chat_id: chatId, body, client_msg_id: id, attachments: files.map((f) => f.id) }, { attachments: files }),
        onTyping: () => client.typing(chatId),
        onClose: () => client.closeChat(chatId).catch((err) => say(`Could not close the chat: ${err.message || err.code}`)),
        onDismiss: () => { win.root.remove(); windows.delete(chatId); $('no-windows').hidden = windows.size > 0; },
      });
      entry = { win, chat };
      windows.set(chatId, entry);
      $('windows').append(win.root);
      $('no-windows').hidden = true;
      win.subtitle.textContent = queueName(chat.queue_id);
      addControls(entry);
      loadDetails(entry);
      client.messages(chatId).forEach((m) => win.addMessage(m));
    }
    return entry;
  }

  // The Chat window's Transfer (a `Transfer to` select of queues and analysts, `Confirm transfer`)
  // and Link call (a `Call` textbox, `Confirm link`) controls (contract §9.5).
  function addControls(entry) {
    const chatId = entry.chat.chat_id;
    const n = chatId.slice(-12);
    const target = el('select', { id: 'transfer-to-' + n });
    const confirmTransfer = el('button', { type: 'button' }, 'Confirm transfer');
    const transferRow = el('div', { class: 'row', hidden: true }, el('label', { for: target.id }, 'Transfer to'), target, confirmTransfer);
    const callBox = el('input', { type: 'text', id: 'link-call-' + n, maxlength: '64' });
    const confirmLink = el('button', { type: 'button' }, 'Confirm link');
    const linkRow = el('div', { class: 'row', hidden: true }, el('label', { for: callBox.id }, 'Call'), callBox, confirmLink);
    const transfer = el('button', { type: 'button', class: 'secondary' }, 'Transfer');
    const link = el('button', { type: 'button', class: 'secondary' }, 'Link call');
    transfer.addEventListener('click', async () => {
      target.replaceChildren(...await transferTargets(entry.chat));
      transferRow.hidden = false;
    });
    link.addEventListener('click', () => { linkRow.hidden = false; callBox.focus(); });
    confirmTransfer.addEventListener('click', async () => {
      const [kind, id] = target.value.split(':');
      const label = target.selectedOptions[0] ? target.selectedOptions[0].textContent : id;
      try {
        await client.transfer(chatId, kind === 'queue' ? { queue_id: id } : { analyst_id: id });
        entry.win.end(`Transferred to ${label}.`);
        entry.controls.hidden = true;
        say(`Chat with ${entry.chat.user.name} transferred to ${label}.`);
      } catch (err) { say(`Could not transfer the chat: ${err.message || err.code}`); }
    });
    confirmLink.addEventListener('click', async () => {
      const callId = callBox.value.trim();
      if (!callId) return;
      try {
        await client.linkCall(chatId, callId);
        linkRow.hidden = true;
        callBox.value = '';
        say(`Chat with ${entry.chat.user.name} linked to call ${callId}.`);
      } catch (err) { say(`Could not link call ${callId}: ${err.message || err.code}`); }
    });
    entry.controls = el('div', { class: 'chat-controls' }, el('div', { class: 'row' }, transfer, link), transferRow, linkRow);
    entry.win.root.append(entry.controls);
  }

  // Every queue the analyst can see by name, then the analysts of those queues a manager may
  // list (an analyst sees queues only).
  async function transferTargets(chat) {
    let list = [...queues.values()];
    try { list = await api('GET', '/api/v1/queues'); } catch (_) { /* the hello's queues */ }
    const options = list.filter((q) => q.id !== chat.queue_id).map((q) => el('option', { value: 'queue:' + q.id }, q.name));
    const people = new Map();
    await Promise.all(list.map(async (q) => {
      try {
        for (const a of await api('GET', `/api/v1/queues/${encodeURIComponent(q.id)}/analysts`)) {
          if (a.id !== SB.me.sub) people.set(a.id, a.name);
        }
      } catch (_) { /* not a manager of it */ }
    }));
    for (const [id, name] of [...people].sort((a, b) => a[1].localeCompare(b[1]))) options.push(el('option', { value: 'analyst:' + id }, name));
    return options;
  }

  async function loadDetails(entry) {
    let call = null;
    try { call = await api('GET', `/api/v1/calls/${encodeURIComponent(entry.chat.call_id)}`); } catch (_) { /* shown without */ }
    entry.win.setDetails(callDetailRows(entry.chat, call, queues.get(entry.chat.queue_id)));
  }

  function ended(entry, by, reason) {
    if (entry.win.ended) return;
    const who = by ? ` by ${byWords(by)}` : '';
    const why = reason ? ` (${reason.replace(/_/g, ' ')})` : '';
    entry.win.end(`Chat ended${who}${why}.`);
  }

  // ---- Frames ----
  function onFrame(f) {
    const entry = f.chat_id ? windows.get(f.chat_id) : null;
    switch (f.type) {
      case 'hello': {
        if (!f.analyst) { say('This console is for analysts and managers: sign in as one.'); client.close(); return; }
        setStatus(f.analyst.status);
        showPending(f.analyst.pending_status);
        availability.disabled = false;
        queues.clear();
        f.queues.forEach((q) => queues.set(q.id, q));
        waiting.clear();
        for (const chat of f.chats) {
          if (chat.state === 'active') openWindow(chat);
          else if (chat.state === 'offered') waiting.set(chat.chat_id, { chat, offered: true });
        }
        renderWaiting();
        refreshLists();
        (f.wrap_ups || []).forEach(startWrapUp);
        break;
      }
      case 'wrap_up_started': startWrapUp(f); break;
      case 'chat_queued': {
        // An offer may arrive before the queue's announcement of the same chat: keep it.
        const known = waiting.get(f.chat.chat_id);
        waiting.set(f.chat.chat_id, known && known.offered ? { ...known, chat: f.chat } : { chat: f.chat, offered: false });
        renderWaiting();
        break;
      }
      case 'chat_dequeued': waiting.delete(f.chat_id); renderWaiting(); refreshLists(); break;
      case 'chat_offered':
        waiting.set(f.chat.chat_id, { chat: f.chat, offered: true, expires_at: f.expires_at });
        renderWaiting();
        say(`Chat from ${f.chat.user.name} in ${queueName(f.chat.queue_id)} offered to you: accept by ${SB.time(f.expires_at)}.`);
        break;
      case 'offer_revoked': {
        const w = waiting.get(f.chat_id);
        if (w) { w.offered = false; if (f.reason !== 'timeout') waiting.delete(f.chat_id); renderWaiting(); }
        say(`An offered chat${w ? ' from ' + w.chat.user.name : ''} was withdrawn (${{ timeout: 'not answered in time', taken: 'taken by someone else', closed: 'the chat ended' }[f.reason] || f.reason}).`);
        break;
      }
      case 'chat_assigned': {
        openWindow(f.chat);
        waiting.delete(f.chat.chat_id);
        renderWaiting();
        say(`New chat with ${f.chat.user.name} in ${queueName(f.chat.queue_id)}.`);
        break;
      }
      case 'typing': if (entry) entry.win.setTyping(f.from.name); break;
      case 'chat_closed':
        if (entry) { ended(entry, f.by, f.reason); say(`Chat with ${entry.chat.user.name} ended${f.by ? ' by ' + byWords(f.by) : ''}.`); }
        waiting.delete(f.chat_id);
        renderWaiting();
        refreshLists();
        break;
      case 'participant_joined':
      case 'participant_left':
        if (entry) say(`${f.who.name} ${f.type === 'participant_joined' ? 'joined' : 'left'} the chat with ${entry.chat.user.name}.`);
        break;
      case 'peer_status':
        if (entry) say(`${entry.chat.user.name} ${f.connected ? 'is back' : 'lost their connection'}.`);
        break;
      case 'status_changed':
        setStatus(f.status);
        showPending(f.pending_status);
        say(`Your availability is now ${SB.STATUS_LABELS[f.status]} (changed by ${byWords(f.by)})`);
        break;
      case 'queue_status': {
        const q = queues.get(f.queue_id);
        if (q) q.enabled = f.enabled;
        say(`Queue ${queueName(f.queue_id)} is now ${f.enabled ? 'online' : 'offline'} (changed by ${byWords(f.by)})`);
        break;
      }
      case 'error': say(`Error: ${f.message}`); break;
      default: break;
    }
  }

  client.connect().catch(() => { /* shown by the connection line */ });
})();
