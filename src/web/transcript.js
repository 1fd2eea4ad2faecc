// `/chats/{id}`: reopens a chat's transcript in a read-only Chat window with its call details
// (the link written to the call's history). Its files are read through the client library
// (no connection is opened: only its HTTP calls are used).
import { SwitchboardClient } from '/sdk/switchboard.js';

(async () => {
  const $ = (id) => document.getElementById(id);
  if (!SB.header($('who'))) return;
  SBFiles.use(new SwitchboardClient({ token: SB.token }));
  const chatId = decodeURIComponent(location.pathname.split('/').pop());
  try {
    const { chat, call, transcript } = await SB.api('GET', `/api/v1/chats/${encodeURIComponent(chatId)}`);
    let queue = null;
    try { queue = await SB.api('GET', `/api/v1/queues/${encodeURIComponent(chat.queue_id)}`); } catch (_) { /* details without SLA */ }
    const other = SB.me.role === 'user' && chat.analyst ? chat.analyst.name : chat.user.name;
    const win = new ChatWindow({ title: `Chat with ${other}`, selfId: SB.me.sub, readOnly: true });
    transcript.forEach((m) => win.addMessage(m));
    const state = { waiting: 'Waiting', offered: 'Waiting', active: 'In progress', closed: 'Answered and ended', unanswered: 'Not answered' }[chat.state];
    win.subtitle.textContent = `${state}${chat.analyst ? ' · ' + chat.analyst.name : ''}`;
    if (chat.ended_at) win.statusNode.textContent = `Ended ${SB.dateTime(chat.ended_at)}${chat.end_reason ? ' (' + chat.end_reason.replace(/_/g, ' ') + ')' : ''}.`;
    win.setDetails(callDetailRows(chat, call, queue));
    $('window').append(win.root);
    document.title = `Transcript: chat with ${other}`;
  } catch (err) {
    $('error').textContent = err.status === 404 ? 'There is no such chat, or you may not see it.' : `Could not load the chat: ${err.message}`;
  }
})();
