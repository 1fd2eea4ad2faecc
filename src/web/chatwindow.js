// The Chat window, shared by the console, the end-user page and the read-only transcript page:
// a region named "Chat with <name>" holding the transcript (deduplicated and ordered by seq),
// the typing indicator, the Message box with Attach (or a pasted screenshot), Send and Close Chat,
// and a "Call details" region. Files a message carries show as thumbnails or download links.
'use strict';

let chatWindowCount = 0;

class ChatWindow {
  // opts: {title, selfId, readOnly, chatId (to attach files), onSend(body, clientMsgId, files)
  //        -> Promise<ok>, onTyping(), onClose(), onDismiss(), closeLabel, callDetails: bool}
  constructor(opts) {
    const { el } = SB;
    this.opts = opts;
    this.seqs = new Map(); // seq -> li
    this.pending = new Map(); // client_msg_id -> {body, li}
    this.lastSeq = 0;
    this.ended = false;
    const n = ++chatWindowCount;
    this.heading = el('h3', { id: `cw-h-${n}` }, opts.title);
    this.subtitle = el('span', { class: 'muted' });
    this.list = el('ol', { class: 'transcript', role: 'log', 'aria-label': 'Transcript', 'aria-live': 'polite', tabindex: '0' });
    this.typingNode = el('div', { class: 'typing', 'aria-live': 'polite' });
    this.statusNode = el('p', { class: 'ended', role: 'status' });
    this.errorNode = el('p', { class: 'error', role: 'alert' });
    const headerButtons = el('div', { class: 'row' });
    if (!opts.readOnly) {
      this.closeButton = el('button', { type: 'button', class: 'danger', onclick: () => opts.onClose() }, opts.closeLabel || 'Close Chat');
      headerButtons.append(this.closeButton);
    }
    this.dismissButton = el('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => opts.onDismiss && opts.onDismiss() }, 'Dismiss');
    headerButtons.append(this.dismissButton);
    const conversation = el('div', { class: 'conversation' }, this.list, this.typingNode, this.statusNode, this.errorNode);
    if (!opts.readOnly) {
      const id = `cw-m-${n}`;
      this.input = el('textarea', { id, rows: '2', maxlength: '8000' });
      this.input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); this.submit(); }
      });
      this.input.addEventListener('input', () => this.typed());
      this.input.addEventListener('paste', (ev) => {
        const files = [...((ev.clipboardData && ev.clipboardData.files) || [])];
        if (files.length && opts.chatId) { ev.preventDefault(); files.forEach((f) => this.attach(f)); }
      });
      this.sendButton = el('button', { type: 'submit' }, 'Send');
      const form = el('form', { class: 'compose', onsubmit: (ev) => { ev.preventDefault(); this.submit(); } },
        el('label', { for: id }, el('span', { class: 'visually-hidden' }, 'Message'), this.input), this.sendButton);
      if (opts.chatId) {
        this.fileInput = el('input', { type: 'file', hidden: true, tabindex: '-1', 'aria-hidden': 'true', onchange: () => {
          [...this.fileInput.files].forEach((f) => this.attach(f));
          this.fileInput.value = '';
        } });
        this.attachButton = el('button', { type: 'button', class: 'secondary', onclick: () => this.fileInput.click() }, 'Attach');
        form.append(this.attachButton, this.fileInput);
      }
      this.uploads = el('ul', { class: 'uploads', 'aria-live': 'polite' });
      conversation.append(form, this.uploads);
    }
    this.root = el('section', { class: 'chat-window' + (opts.readOnly ? ' read-only' : ''), 'aria-labelledby': this.heading.id },
      el('header', {}, el('div', {}, this.heading, ' ', this.subtitle), headerButtons), conversation);
    if (opts.callDetails !== false) {
      this.details = el('dl');
      const h = el('h4', { id: `cw-c-${n}` }, 'Call details');
      this.root.append(el('section', { class: 'call-details', 'aria-labelledby': h.id }, h, this.details));
    }
    this.lastTyping = 0;
  }

  setTitle(text) { this.heading.textContent = text; }

  // Adds a stored message once; messages are kept in seq order.
  addMessage(m) {
    if (this.seqs.has(m.seq)) return;
    if (m.client_msg_id && this.pending.has(m.client_msg_id)) {
      this.pending.get(m.client_msg_id).li.remove();
      this.pending.delete(m.client_msg_id);
    }
    // A whisper (contract §9.3) reaches the chat's staff only, and says so.
    const whisper = m.visibility === 'internal';
    const li = this.messageItem(m.from.name, whisper ? `(whisper) ${m.body}` : m.body, m.at, m.from.id === this.opts.selfId, m.attachments);
    li.dataset.seq = m.seq;
    if (whisper) li.classList.add('internal');
    const next = [...this.seqs.entries()].filter(([s]) => s > m.seq).sort((a, b) => a[0] - b[0])[0];
    if (next) this.list.insertBefore(li, next[1]);
    else this.list.insertBefore(li, this.firstPending());
    this.seqs.set(m.seq, li);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    if (m.from.id !== this.opts.selfId) this.setTyping(null);
    this.list.scrollTop = this.list.scrollHeight;
  }

  firstPending() {
    const first = this.pending.values().next();
    return first.done ? null : first.value.li;
  }

  messageItem(name, body, at, mine, attachments) {
    const { el } = SB;
    return el('li', { class: mine ? 'mine' : '' },
      el('div', {}, el('span', { class: 'from' }, name), el('span', { class: 'at' }, SB.time(at))),
      body ? el('div', { class: 'body' }, body) : null,
      typeof SBFiles === 'undefined' ? null : SBFiles.render(attachments));
  }

  // Uploads a file (with its progress shown), then sends it in a message with whatever text is
  // in the Message box. A refusal is said in words and nothing is sent.
  async attach(file) {
    if (this.ended) return;
    const { el } = SB;
    const name = file.name || 'pasted image';
    const bar = el('progress', { max: '1', value: '0', 'aria-label': `Uploading ${name}` });
    const item = el('li', {}, `Uploading ${name} `, bar);
    this.uploads.append(item);
    try {
      const shown = await SBFiles.upload(this.opts.chatId, file, (f) => { bar.value = f; });
      item.remove();
      this.errorNode.textContent = '';
      const body = this.input.value.trim();
      this.input.value = '';
      await this.queue(body, [shown]);
    } catch (err) {
      item.remove();
      this.errorNode.textContent = err.message;
    }
  }

  count() { return this.seqs.size; }

  setTyping(name) {
    clearTimeout(this.typingTimer);
    this.typingNode.textContent = name ? `${name} is typing…` : '';
    if (name) this.typingTimer = setTimeout(() => { this.typingNode.textContent = ''; }, 5000);
  }

  typed() {
    const now = Date.now();
    if (this.opts.onTyping && now - this.lastTyping > 3000 && this.input.value.trim()) {
      this.lastTyping = now;
      this.opts.onTyping();
    }
  }

  async submit() {
    const body = this.input.value.trim();
    if (!body || this.ended) return;
    this.input.value = '';
    await this.queue(body, []);
  }

  // Shows a message as sending and delivers it.
  async queue(body, files) {
    this.lastTyping = 0; // the next keystroke tells the other side again
    const id = SB.uid();
    const li = this.messageItem(SB.me ? SB.me.name : 'Me', body, null, true, files);
    li.classList.add('sending');
    li.querySelector('.at').textContent = 'sending…';
    this.list.append(li);
    this.pending.set(id, { body, files, li });
    this.list.scrollTop = this.list.scrollHeight;
    await this.deliver(id);
  }

  // Sends a pending message; the client library re-sends it (same client_msg_id, stored once)
  // across reconnects, so the promise settles only with the stored message or a refusal.
  async deliver(id) {
    const p = this.pending.get(id);
    if (!p) return;
    try {
      const ok = await this.opts.onSend(p.body, id, p.files || []);
      this.errorNode.textContent = '';
      this.addMessage({ seq: ok.seq, at: ok.at, body: p.body, client_msg_id: id, attachments: p.files || [], from: { id: this.opts.selfId, name: SB.me ? SB.me.name : 'Me' } });
    } catch (err) {
      if (err.code === 'unavailable') {
        p.li.querySelector('.at').textContent = 'waiting for the connection…';
      } else {
        p.li.remove();
        this.pending.delete(id);
        this.errorNode.textContent = `Not sent: ${err.message || err.code}`;
      }
    }
  }

  end(text) {
    this.ended = true;
    this.statusNode.textContent = text;
    this.setTyping(null);
    if (this.input) { this.input.disabled = true; this.sendButton.disabled = true; }
    if (this.attachButton) this.attachButton.disabled = true;
    if (this.closeButton) this.closeButton.hidden = true;
    if (this.opts.onDismiss) this.dismissButton.hidden = false;
  }

  setDetails(rows) {
    if (!this.details) return;
    const { el } = SB;
    this.details.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }
}

// Call details rows: call id, source, first contact, SLA target (answer by created + SLA).
function callDetailRows(chat, call, queue) {
  const rows = [['Call', chat.call_id]];
  rows.push(['Source', call ? call.source : 'Chat']);
  rows.push(['Opened', SB.dateTime(chat.created_at)]);
  const first = (call && call.first_contact_at) || chat.accepted_at;
  rows.push(['First contact', first ? SB.dateTime(first) : 'not yet']);
  if (queue) {
    const target = new Date(new Date(chat.created_at).getTime() + queue.sla_answer_secs * 1000);
    let verdict = '';
    if (first) verdict = new Date(first) <= target ? ' (met)' : ' (missed)';
    rows.push(['SLA target', `answer within ${queue.sla_answer_secs} s, by ${SB.time(target.toISOString())}${verdict}`]);
    rows.push(['Queue', queue.name]);
  } else {
    rows.push(['Queue', chat.queue_id]);
  }
  if (chat.subject) rows.push(['Subject', chat.subject]);
  return rows;
}
