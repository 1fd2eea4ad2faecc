// The end user's page: pick a queue (or take ?queue=) and, where the queue lists skills, the one
// wanted (Skill needed), Start chat, see "You are number N in the queue" and the estimated wait
// while waiting, then talk with the analyst in a Chat window and end the chat; after an
// answered chat the engine's `survey` asks "How did we do?" (five buttons, `rate`). The client
// library reconnects and resumes the open chat by itself.
import { SwitchboardClient, opensWords, positionWords, skillWords } from '/sdk/switchboard.js';

(() => {
  const { el, api } = SB;
  const $ = (id) => document.getElementById(id);
  const queueSelect = $('queue');
  let queues = [];
  let chat = null; // {chat_id, queue_id, win}

  if (!SB.header($('who'))) { $('conn').textContent = 'Not signed in'; return; }
  const client = new SwitchboardClient({ token: SB.token });
  SBFiles.use(client);
  window.switchboardSocket = client; // for diagnostics (and the tests that drop the connection)
  client.on('state', SB.connState($('conn')));
  client.on('*', onFrame);
  client.on('message', (m) => { if (chat && m.chat_id === chat.chat_id) chat.win.addMessage(m); });
  client.on('resumed', (r) => {
    if (chat && r.chat_id === chat.chat_id && r.ended) finished(null, null);
  });
  const tell = (text) => { $('notices-text').textContent = text; };

  async function loadQueues() {
    try {
      queues = await api('GET', '/api/v1/queues');
    } catch (err) {
      $('start-error').textContent = `Could not load the queues: ${err.message}`;
      return;
    }
    const wanted = new URLSearchParams(location.search).get('queue');
    queueSelect.replaceChildren(...queues.map((q) => el('option', { value: q.id }, q.name + (q.enabled ? '' : ' (offline)'))));
    if (wanted && queues.some((q) => q.id === wanted)) queueSelect.value = wanted;
    else {
      // Without ?queue=: the first queue open, enabled and with an analyst available, else the
      // first open one (contract §9.5).
      const open = queues.filter((q) => q.enabled && q.open_now !== false);
      const best = open.find((q) => q.analysts_available > 0) || open[0];
      if (best) queueSelect.value = best.id;
    }
    describe();
    $('start-button').disabled = false;
  }

  function describe() {
    const q = queues.find((x) => x.id === queueSelect.value);
    $('queue-description').textContent = q ? q.description : '';
    // The queue's skills (contract §8.1), when it lists any: the user may ask for one.
    const skills = (q && q.skills) || [];
    $('skill-field').hidden = skills.length === 0;
    $('skill').replaceChildren(el('option', { value: '' }, 'Anyone'),
      ...skills.map((s) => el('option', { value: s }, skillWords(s))));
    const closed = q && q.open_now === false ? `This queue is closed now.${opensWords(q.next_change_at)}` : '';
    $('queue-availability').textContent = closed || (q && !q.analysts_available ? 'No analysts are available right now' : '');
  }
  queueSelect.addEventListener('change', describe);

  $('start-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('start-error').textContent = '';
    const subject = $('subject').value.trim();
    const skill = $('skill-field').hidden ? '' : $('skill').value;
    try {
      const ok = await client.startChat({
        queue_id: queueSelect.value, ...(subject ? { subject } : {}), ...(skill ? { skills: [{ name: skill }] } : {}),
      });
      open({ chat_id: ok.chat_id, queue_id: queueSelect.value, position: ok.position, analyst: null });
      showPosition(ok.position, ok.estimated_wait_secs);
    } catch (err) {
      const words = {
        queue_offline: 'This queue is offline right now. Please try another queue or later.',
        queue_closed: `This queue is closed now.${opensWords(err.opens_at)}`,
        queue_full: 'This queue is full right now. Please try again in a few minutes.',
        conflict: 'You already have an open chat in this queue.',
        not_found: 'There is no such queue.',
      }[err.code];
      $('start-error').textContent = words || `Could not start the chat: ${err.message || err.code}`;
    }
  });

  // The place and the estimated wait in words (contract §8.4, the client library's words).
  let lastEstimate = null;
  function showPosition(position, estimate) {
    if (estimate !== undefined) lastEstimate = estimate;
    $('position').textContent = positionWords(position, lastEstimate);
  }

  function open(summary) {
    if (chat && chat.chat_id === summary.chat_id) return chat;
    if (chat) chat.win.root.remove();
    const chatId = summary.chat_id;
    const win = new ChatWindow({
      title: summary.analyst ? `Chat with ${summary.analyst.name}` : 'Chat with the service desk',
      selfId: SB.me.sub,
      callDetails: false,
      closeLabel: 'End chat',
      chatId,
      onSend: (body, id, files) => client.send({ chat_id: chatId, body, client_msg_id: id, attachments: files.map((f) => f.id) }, { attachments: files }),
      onTyping: () => client.typing(chatId),
      onClose: () => client.closeChat(chatId).catch((err) => tell(`Could not end the chat: ${err.message || err.code}`)),
      onDismiss: () => { win.root.remove(); chat = null; $('start').hidden = false; $('progress').hidden = true; $('survey').hidden = true; },
    });
    chat = { chat_id: chatId, queue_id: summary.queue_id, win };
    $('window').replaceChildren(win.root);
    $('start').hidden = true;
    $('progress').hidden = false;
    tell('');
    client.messages(chatId).forEach((m) => win.addMessage(m));
    return chat;
  }

  function finished(by, reason) {
    if (!chat || chat.win.ended) return;
    showPosition(null);
    const who = by ? ` by ${by.id === SB.me.sub ? 'you' : by.name}` : '';
    const why = reason && !by ? ` (${reason.replace(/_/g, ' ')})` : '';
    chat.win.end(`Chat ended${who}${why}.`);
    tell('Thank you. You can start another chat when you need to.');
  }

  function onFrame(f) {
    const mine = chat && f.chat_id === chat.chat_id;
    switch (f.type) {
      case 'hello': {
        const open_ = f.chats.find((c) => c.state !== 'closed' && c.state !== 'unanswered');
        if (open_) {
          open(open_);
          showPosition(open_.position);
          if (open_.analyst) tell(`You are chatting with ${open_.analyst.name}.`);
        }
        break;
      }
      case 'queue_position': if (mine) showPosition(f.position, f.estimated_wait_secs); break;
      case 'chat_requeued':
        if (mine) { showPosition(f.position); tell('Your analyst is no longer available: you are back in the queue.'); chat.win.setTitle('Chat with the service desk'); }
        break;
      case 'chat_accepted':
        if (mine) { showPosition(null); chat.win.setTitle(`Chat with ${f.analyst.name}`); tell(`${f.analyst.name} accepted your chat.`); }
        break;
      case 'typing': if (mine) chat.win.setTyping(f.from.name); break;
      case 'peer_status': if (mine) tell(f.connected ? 'Your analyst is back.' : 'Your analyst lost their connection; please wait.'); break;
      case 'chat_closed': if (mine) finished(f.by, f.reason); break;
      case 'survey': askSurvey(f.chat_id); break;
      case 'participant_joined': if (mine) tell(`${f.who.name} joined the chat.`); break;
      case 'participant_left': if (mine) tell(`${f.who.name} left the chat.`); break;
      default: break;
    }
  }

  // "How did we do?": one button per score; a click rates the chat (once).
  let surveyChat = null;
  const scoreWords = ['Very poor', 'Poor', 'OK', 'Good', 'Excellent'];
  $('survey-scores').replaceChildren(...scoreWords.map((words, i) => {
    const score = i + 1;
    const button = el('button', { type: 'button', 'aria-label': `Rate ${score} of 5`, title: words }, String(score));
    button.addEventListener('click', () => rate(score));
    return button;
  }));
  function askSurvey(chatId) {
    surveyChat = chatId;
    $('survey-result').textContent = '';
    $('survey-comment').value = '';
    $('survey-scores').querySelectorAll('button').forEach((b) => { b.disabled = false; });
    $('survey').hidden = false;
  }
  async function rate(score) {
    if (!surveyChat) return;
    const buttons = $('survey-scores').querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await client.rate(surveyChat, score, $('survey-comment').value.trim());
      $('survey-result').textContent = `Thank you: you rated this chat ${score} of 5.`;
      surveyChat = null;
    } catch (err) {
      const words = err.code === 'conflict' ? 'This chat has already been rated.' : `Could not send your rating: ${err.message || err.code}`;
      $('survey-result').textContent = words;
      if (err.code !== 'conflict') buttons.forEach((b) => { b.disabled = false; });
    }
  }

  loadQueues();
  client.connect().catch(() => { /* shown by the connection line */ });
})();
