// /widget.js (contract §13): a host portal's pages include it with one script tag. It adds a
// launcher button and a chat panel inside an open shadow root (the portal's styles and scripts
// neither leak in nor out), gets a user token from the portal's own `data-token-url`, and offers
// what /chat offers with the same accessible names (Start chat, Skill needed where the queue lists
// skills, Message, Send, "You are number N in the queue" with the estimated wait in the same words,
// End chat) through the client library. The chat survives the portal's page loads:
// the panel's state and the messages are kept in sessionStorage, and the client resumes after
// the last one. Offline, refused, closed and full queues are said in words.
(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const engine = new URL('/', script.src);
  const cfg = {
    queue: script.dataset.queue || '',
    tokenUrl: script.dataset.tokenUrl || '/switchboard-token',
    title: script.dataset.title || 'Chat with the service desk',
  };
  const STORE = `switchboard-widget:${engine.origin}`;
  const KEEP = 200; // messages kept in sessionStorage for the next page
  const WORDS = {
    queue_offline: 'Chat with the service desk is offline right now. Please try again later.',
    queue_closed: 'The service desk is closed now. Please try again during opening hours.',
    queue_full: 'The queue is full right now. Please try again in a few minutes.',
    conflict: 'You already have an open chat with the service desk.',
    not_found: 'This chat queue does not exist: please tell the portal\'s owner.',
    rate_limited: 'Too many attempts: please wait a moment.',
  };

  const saved = (() => { try { return JSON.parse(sessionStorage.getItem(STORE)) || {}; } catch (_) { return {}; } })();
  const keep = () => { try { sessionStorage.setItem(STORE, JSON.stringify(saved)); } catch (_) { /* private mode */ } };

  // ---- the shadow root and its controls ----
  const host = document.createElement('div');
  host.setAttribute('data-switchboard-widget', '');
  const root = host.attachShadow({ mode: 'open' });
  // The panel's stylesheet (widget.css), put here by the engine when it serves this file.
  const css = "__WIDGET_CSS__";
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(Object.assign(document.createElement('style'), { textContent: css }));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  const heading = el('h2', { id: 'sbw-h' }, cfg.title);
  const hide = el('button', { type: 'button', class: 'secondary', onclick: () => setOpen(false, true) }, 'Hide chat');
  const conn = el('p', { class: 'conn', role: 'status' }, 'Connecting…');
  const alert = el('p', { class: 'alert', role: 'alert' });
  const subject = el('input', { type: 'text', id: 'sbw-subject', maxlength: '200', placeholder: 'optional' });
  const startButton = el('button', { type: 'submit', disabled: true }, 'Start chat');
  // The queue's skills (contract §8.1), shown once the queue is read and only when it lists any.
  const skill = el('select', { id: 'sbw-skill' });
  const skillField = el('div', { hidden: true }, el('label', { for: 'sbw-skill' }, 'Skill needed'), skill);
  const startForm = el('form', { onsubmit: (ev) => { ev.preventDefault(); start(); } },
    el('label', { for: 'sbw-subject' }, 'Subject'), subject, skillField, el('div', { class: 'row' }, startButton));
  const position = el('p', { class: 'position', role: 'status', 'aria-live': 'polite' });
  const note = el('p', { class: 'note', role: 'log', 'aria-live': 'polite' });
  const list = el('ol', { role: 'log', 'aria-label': 'Transcript', 'aria-live': 'polite', tabindex: '0' });
  const typingNode = el('p', { class: 'note', 'aria-live': 'polite' });
  const input = el('textarea', { id: 'sbw-message', rows: '2', maxlength: '8000' });
  const sendButton = el('button', { type: 'submit' }, 'Send');
  const endButton = el('button', { type: 'button', class: 'danger', onclick: () => end() }, 'End chat');
  // Attach (or paste a screenshot into Message): uploaded at once, sent with the typed text.
  const fileInput = el('input', { type: 'file', hidden: true, multiple: true, 'aria-hidden': 'true', tabindex: '-1' });
  const attachButton = el('button', { type: 'button', class: 'secondary', onclick: () => fileInput.click() }, 'Attach');
  fileInput.addEventListener('change', () => { [...fileInput.files].forEach(attach); fileInput.value = ''; });
  input.addEventListener('paste', (ev) => {
    const files = [...((ev.clipboardData && ev.clipboardData.files) || [])];
    if (files.length) { ev.preventDefault(); files.forEach(attach); }
  });
  const compose = el('form', { onsubmit: (ev) => { ev.preventDefault(); submit(); } },
    el('label', { for: 'sbw-message' }, el('span', {}, 'Message'), input),
    el('div', { class: 'row' }, endButton, attachButton, fileInput, sendButton));
  const chatArea = el('div', { hidden: true }, list, typingNode, compose);
  // "How did we do?" once an answered chat has ended (the engine's `survey`), as on /chat.
  const comment = el('input', { type: 'text', id: 'sbw-comment', maxlength: '1000', placeholder: 'optional' });
  const scores = ['Very poor', 'Poor', 'OK', 'Good', 'Excellent'].map((words, i) =>
    el('button', { type: 'button', 'aria-label': `Rate ${i + 1} of 5`, title: words, onclick: () => rate(i + 1) }, String(i + 1)));
  const surveyResult = el('p', { class: 'note', role: 'status', 'aria-live': 'polite' });
  const survey = el('section', { 'aria-labelledby': 'sbw-survey-h', hidden: true },
    el('h3', { id: 'sbw-survey-h' }, 'How did we do?'), el('label', { for: 'sbw-comment' }, 'Comment'), comment,
    el('div', { class: 'row', role: 'group', 'aria-labelledby': 'sbw-survey-h' }, ...scores), surveyResult);
  const body = el('div', { class: 'body' }, conn, alert, startForm, position, note, chatArea, survey);
  const panel = el('section', { class: 'panel', id: 'sbw-panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'sbw-h', hidden: true },
    el('header', {}, heading, hide), body);
  const launcher = el('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'sbw-panel', onclick: () => setOpen(panel.hidden, true) }, cfg.title);
  root.append(panel, launcher);
  panel.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); setOpen(false, true); } });
  input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); submit(); } });
  let lastTyping = 0;
  input.addEventListener('input', () => {
    if (chat && client && Date.now() - lastTyping > 3000 && input.value.trim()) { lastTyping = Date.now(); client.typing(chat.chat_id); }
  });

  // ---- state ----
  let client = null;
  let lib = null; // the client library's module (/sdk/switchboard.js)
  let lastEstimate = null;
  let chat = null; // {chat_id, ended}
  let surveyChat = null; // the ended chat the survey rates
  let ready = false; // connected and allowed to start
  let typingTimer = null;
  const shown = new Map(); // seq or client_msg_id -> li

  function setOpen(open, moveFocus) {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    saved.open = open;
    keep();
    if (!moveFocus) return;
    if (!open) { launcher.focus(); return; }
    const target = !chatArea.hidden && !input.disabled ? input : (!startForm.hidden && !startButton.disabled ? startButton : hide);
    target.focus();
  }

  function say(text) { note.textContent = text; }
  // The place and the estimated wait, in the client library's words (as /chat says them).
  function showPosition(p, estimate) {
    if (estimate !== undefined) lastEstimate = estimate;
    position.textContent = lib ? lib.positionWords(p, lastEstimate) : '';
  }

  function message(m) {
    if (!chat || m.chat_id !== chat.chat_id || shown.has(m.seq)) return;
    const pending = m.client_msg_id && shown.get(m.client_msg_id);
    const mine = client && client.me ? m.from.id === client.me.id : m.from.role === 'user';
    const li = el('li', { class: mine ? 'mine' : '' }, el('span', { class: 'from' }, mine ? 'You' : m.from.name), m.body,
      ...(m.attachments || []).map(fileItem));
    if (pending) { pending.replaceWith(li); shown.delete(m.client_msg_id); } else list.append(li);
    shown.set(m.seq, li);
    if (!mine) typing(null);
    list.scrollTop = list.scrollHeight;
    saved.messages = [...(saved.messages || []).filter((x) => x.seq !== m.seq), m].slice(-KEEP);
    keep();
  }

  // A message's file: images as thumbnails that open full size, others as download links (read
  // with the token: the attachment route takes no cookies).
  function fileItem(a) {
    const link = el('a', { href: '#', target: '_blank', rel: 'noopener', download: a.content_type.startsWith('image/') ? null : a.name },
      a.content_type.startsWith('image/') ? el('img', { alt: a.name, class: 'thumb' }) : `Download ${a.name}`);
    if (a.content_type.startsWith('image/')) link.setAttribute('aria-label', `Open ${a.name} full size`);
    client.download(a.url).then((blob) => {
      const u = URL.createObjectURL(blob);
      link.href = u;
      const img = link.querySelector('img');
      if (img) img.src = u;
    }).catch(() => { link.textContent = `${a.name} (could not be loaded)`; });
    return el('span', { class: 'file' }, link);
  }

  async function attach(file) {
    if (!chat || chat.ended) return;
    alert.textContent = '';
    say(`Attaching ${file.name || 'the screenshot'}…`);
    try {
      const a = await client.upload(chat.chat_id, file, file.name || 'screenshot.png');
      say('');
      const text = input.value.trim();
      input.value = '';
      await client.send({ chat_id: chat.chat_id, body: text, attachments: [a.id] }, { attachments: [a] });
    } catch (err) {
      say('');
      alert.textContent = err.code === 'payload_too_large' ? `${file.name} is too large to attach.`
        : err.code === 'unsupported_media_type' ? `${file.name} cannot be attached: only images, PDF, plain text and zip files are accepted.`
          : `${file.name || 'The file'} was not attached: ${err.message}`;
    }
  }

  function typing(name) {
    clearTimeout(typingTimer);
    typingNode.textContent = name ? `${name} is typing…` : '';
    if (name) typingTimer = setTimeout(() => { typingNode.textContent = ''; }, 5000);
  }

  function openChat(chatId, keepHistory) {
    if (chat && chat.chat_id === chatId) return;
    chat = { chat_id: chatId, ended: false };
    list.replaceChildren();
    shown.clear();
    if (!keepHistory) saved.messages = [];
    saved.chat_id = chatId;
    keep();
    startForm.hidden = true;
    chatArea.hidden = false;
    input.disabled = false; sendButton.disabled = false; attachButton.disabled = false; endButton.hidden = false;
    if (client) client.messages(chatId).forEach(message);
  }

  function ended(text) {
    if (!chat || chat.ended) return;
    chat.ended = true;
    showPosition(null);
    typing(null);
    input.disabled = true; sendButton.disabled = true; attachButton.disabled = true; endButton.hidden = true;
    say(`${text} You can start another chat when you need to.`);
    delete saved.chat_id;
    saved.messages = [];
    keep();
    if (client) client.forget(chat.chat_id);
    startForm.hidden = !ready;
  }

  function askSurvey(chatId) {
    surveyChat = chatId;
    comment.value = '';
    surveyResult.textContent = '';
    scores.forEach((b) => { b.disabled = false; });
    survey.hidden = false;
  }

  async function rate(score) {
    if (!surveyChat) return;
    scores.forEach((b) => { b.disabled = true; });
    try {
      await client.rate(surveyChat, score, comment.value.trim());
      surveyResult.textContent = `Thank you: you rated this chat ${score} of 5.`;
      surveyChat = null;
    } catch (err) {
      surveyResult.textContent = err.code === 'conflict' ? 'This chat has already been rated.' : `Could not send your rating: ${err.message}`;
      if (err.code !== 'conflict') scores.forEach((b) => { b.disabled = false; });
    }
  }

  async function start() {
    alert.textContent = '';
    survey.hidden = true;
    const s = subject.value.trim();
    const wanted = skillField.hidden ? '' : skill.value;
    try {
      const ok = await client.startChat({
        queue_id: cfg.queue, ...(s ? { subject: s } : {}), ...(wanted ? { skills: [{ name: wanted }] } : {}),
      });
      say('');
      openChat(ok.chat_id, false);
      showPosition(ok.position, ok.estimated_wait_secs);
      input.focus();
    } catch (err) {
      const opens = err.code === 'queue_closed' ? lib.opensWords(err.opens_at) : '';
      alert.textContent = (WORDS[err.code] || `Could not start the chat: ${err.message}`) + opens;
    }
  }

  async function submit() {
    const text = input.value.trim();
    if (!text || !chat || chat.ended) return;
    input.value = '';
    lastTyping = 0;
    const id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    const li = el('li', { class: 'mine' }, el('span', { class: 'from' }, 'You (sending…)'), text);
    list.append(li);
    shown.set(id, li);
    try {
      await client.send({ chat_id: chat.chat_id, body: text, client_msg_id: id });
      alert.textContent = '';
    } catch (err) {
      li.remove();
      shown.delete(id);
      alert.textContent = `Not sent: ${err.message}`;
    }
  }

  async function end() {
    if (!chat) return;
    try { await client.closeChat(chat.chat_id); } catch (err) { alert.textContent = `Could not end the chat: ${err.message}`; }
  }

  function onState(state, why) {
    const words = {
      connecting: 'Connecting…', up: '', closed: 'Disconnected.',
      down: 'The service desk cannot be reached right now; trying again…',
    };
    if (state === 'refused') {
      ready = false;
      startForm.hidden = true;
      conn.textContent = '';
      alert.textContent = why && why.code === 'forbidden_origin'
        ? 'Chat is not available on this site: the service desk does not allow chats from it.'
        : 'You need to be signed in to the portal to chat with the service desk.';
      return;
    }
    conn.textContent = words[state] || '';
  }

  function onFrame(f) {
    const mine = chat && f.chat_id === chat.chat_id;
    switch (f.type) {
      case 'hello': {
        ready = Boolean(cfg.queue);
        const open = (f.chats || []).filter((c) => ['waiting', 'offered', 'active'].includes(c.state));
        const current = open.find((c) => c.chat_id === saved.chat_id) || open.find((c) => c.queue_id === cfg.queue) || open[0];
        if (current) {
          openChat(current.chat_id, current.chat_id === saved.chat_id);
          showPosition(current.position);
          if (current.analyst) say(`You are chatting with ${current.analyst.name}.`);
        } else if (!chat || chat.ended) {
          startForm.hidden = !ready;
        }
        startButton.disabled = !ready;
        if (ready) checkQueue();
        if (!cfg.queue) alert.textContent = 'This widget names no queue (data-queue): please tell the portal\'s owner.';
        break;
      }
      case 'queue_position': if (mine) showPosition(f.position, f.estimated_wait_secs); break;
      case 'chat_requeued': if (mine) { showPosition(f.position); say('Your analyst is no longer available: you are back in the queue.'); } break;
      case 'chat_accepted': if (mine) { showPosition(null); say(`${f.analyst.name} accepted your chat.`); } break;
      case 'typing': if (mine) typing(f.from.name); break;
      case 'survey': askSurvey(f.chat_id); break;
      case 'participant_joined': if (mine) say(`${f.who.name} joined the chat.`); break;
      case 'participant_left': if (mine) say(`${f.who.name} left the chat.`); break;
      case 'peer_status': if (mine) say(f.connected ? 'Your analyst is back.' : 'Your analyst lost their connection; please wait.'); break;
      case 'chat_closed':
        if (mine) ended(`Chat ended${f.by ? ` by ${f.by.role === 'user' ? 'you' : f.by.name}` : ''}${!f.by && f.reason ? ` (${f.reason.replace(/_/g, ' ')})` : ''}.`);
        break;
      default: break;
    }
  }

  // Says so before anyone presses Start chat when the queue is offline or closed, and offers
  // its skills.
  async function checkQueue() {
    try {
      const q = await client.api('GET', `/api/v1/queues/${encodeURIComponent(cfg.queue)}`);
      const skills = (q && q.skills) || [];
      skill.replaceChildren(el('option', { value: '' }, 'Anyone'), ...skills.map((s) => el('option', { value: s }, lib.skillWords(s))));
      skillField.hidden = skills.length === 0;
      if (!q || (chat && !chat.ended)) return;
      if (q.enabled === false) alert.textContent = WORDS.queue_offline;
      else if (q.open_now === false) alert.textContent = WORDS.queue_closed + lib.opensWords(q.next_change_at);
    } catch (_) { /* start_chat will say what is wrong */ }
  }

  async function portalToken() {
    const res = await fetch(cfg.tokenUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!res.ok) {
      const err = new Error(`the portal's token endpoint answered ${res.status}`);
      err.code = 'unauthorized'; err.status = 401;
      throw err;
    }
    return (await res.json()).token;
  }

  async function boot() {
    let sdk;
    try {
      sdk = await import(new URL('sdk/switchboard.js', engine).href);
      lib = sdk;
    } catch (_) {
      conn.textContent = 'The service desk cannot be reached right now. Please try again later.';
      return;
    }
    client = new sdk.SwitchboardClient({
      url: engine.href,
      token: async () => {
        try { return await portalToken(); } catch (err) { throw new sdk.SwitchboardError('unauthorized', err.message, 401); }
      },
    });
    window.switchboardWidget = client; // for diagnostics
    client.on('state', onState);
    client.on('*', onFrame);
    client.on('message', message);
    client.on('resumed', (r) => { if (chat && r.chat_id === chat.chat_id && r.ended) ended('This chat has ended.'); });
    if (saved.chat_id && Array.isArray(saved.messages)) {
      client.seed(saved.chat_id, saved.messages);
      openChat(saved.chat_id, true);
    }
    client.connect().catch(() => { /* said by onState */ });
  }

  document.body.append(host);
  if (saved.open) setOpen(true, false);
  boot();
})();
