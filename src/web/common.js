// Switchboard pages, shared code: the token (taken from the URL fragment, kept in
// sessionStorage), HTTP calls with problem+json errors, the connection line's words and small
// DOM helpers. The WebSocket protocol is spoken by the client library, /sdk/switchboard.js.
'use strict';

const SB = (() => {
  const STATUS_LABELS = {
    available: 'Online - Available', busy: 'Online - Busy', away: 'Online - Away', offline: 'Offline',
  };

  function takeToken() {
    const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
    if (m) {
      sessionStorage.setItem('sb_token', decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('sb_token');
  }

  function claims(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (_) {
      return null;
    }
  }

  const token = takeToken();
  const me = token ? claims(token) : null;

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { detail: text }; }
    if (!res.ok) {
      const err = new Error((data && (data.detail || data.title)) || res.statusText);
      err.status = res.status;
      err.code = data && data.code;
      throw err;
    }
    return data;
  }

  // el('li', {class: 'x', onclick: f}, 'text', child)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function time(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function dateTime(iso) {
    if (!iso) return '—';
    return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' });
  }

  function uid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // Adds a readable notice to a live list (newest first, at most 30 kept).
  function notice(list, text) {
    const item = el('li', {}, el('span', { class: 'at' }, time(new Date().toISOString()) + ' '), text);
    list.prepend(item);
    while (list.children.length > 30) list.lastChild.remove();
  }

  // Shows who is signed in, or a way to sign in when no token came with the page.
  function header(whoNode) {
    if (!me) {
      whoNode.replaceChildren('Not signed in. ', el('a', { href: '/' }, 'Sign in'));
      return false;
    }
    whoNode.textContent = `${me.name} (${me.role})`;
    return true;
  }

  function connState(node) {
    return (state, why) => {
      const text = { idle: 'Connecting…', connecting: 'Connecting…', up: 'Connected', down: 'Reconnecting…', closed: 'Disconnected',
        refused: 'Sign-in refused: ' + ((why && why.message) || why || '') }[state];
      node.textContent = text;
      node.classList.toggle('down', state !== 'up');
    };
  }

  return { token, me, api, el, time, dateTime, uid, notice, header, connState, STATUS_LABELS };
})();
