// The start page: when POST /dev/token answers (auth.dev_login), one-click sign-in as each demo
// person, opening their page with the token in the fragment.
'use strict';

(async () => {
  const { el } = SB;
  const $ = (id) => document.getElementById(id);
  const people = JSON.parse($('demo-people').textContent);
  const ROLE_WORDS = { user: 'end user', analyst: 'analyst', manager: 'manager', admin: 'admin' };

  async function mint(p) {
    const res = await fetch('/dev/token', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub: p.sub, role: p.role, name: p.name }),
    });
    if (!res.ok) throw new Error(`dev sign-in answered ${res.status}`);
    return (await res.json()).token;
  }

  // Probe without minting anything: when dev login is off the route does not exist (404); when
  // it is on, an empty request is refused as a bad request.
  try {
    const probe = await fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    if (probe.status === 404) return;
  } catch (_) { return; }
  $('demo').hidden = false;
  $('demo-list').replaceChildren(...people.map((p) => {
    const go = async (page) => {
      try {
        const token = await mint(p);
        location.href = `${page}#token=${encodeURIComponent(token)}`;
      } catch (err) {
        $('demo-error').textContent = err.message;
      }
    };
    const buttons = el('div', { class: 'row' }, el('button', { type: 'button', onclick: () => go(p.page) }, `Sign in as ${p.name}`));
    if (p.role === 'manager') buttons.append(el('button', { type: 'button', class: 'secondary', onclick: () => go('/console') }, `Console as ${p.name}`));
    if (p.role === 'admin' || p.role === 'manager') buttons.append(el('button', { type: 'button', class: 'secondary', onclick: () => go('/dashboard') }, `Dashboard as ${p.name}`));
    return el('li', {}, el('div', {}, el('strong', {}, p.name), el('div', { class: 'meta' }, `${ROLE_WORDS[p.role]} · opens ${p.page}`)), buttons);
  }));
})();
