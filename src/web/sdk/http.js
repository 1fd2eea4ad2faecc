// Switchboard client library: its HTTP calls to the engine with the bearer token (JSON with
// problem+json errors, attachment uploads and downloads), and telling a page whose origin the
// engine's CORS answer refuses from one that cannot reach the engine at all. `ctx` is
// `{base, fetch, token(fresh) -> Promise<string|null>}` (the client's `http()`).

import { SwitchboardError } from './errors.js';

const url = (ctx, path) => new URL(path.replace(/^\//, ''), ctx.base).href;

/**
 * A JSON call; resolves with the answer, rejects with the problem's code and status.
 * @param {{base: string, fetch: typeof fetch, token: (fresh?: boolean) => Promise<string|null>}} ctx
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{fresh?: boolean}} [opts]
 */
export async function call(ctx, method, path, body, opts = {}) {
  const token = await ctx.token(opts.fresh);
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await ctx.fetch(url(ctx, path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw await unreachable(ctx, err);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { detail: text }; }
  if (!res.ok) {
    throw new SwitchboardError((data && data.code) || 'internal', (data && (data.detail || data.title)) || res.statusText, res.status);
  }
  return data;
}

/**
 * A fetch that failed outright is either the network or the engine's CORS answer refusing
 * this page's origin. A browser can tell them apart: a no-cors request to the engine
 * succeeds (opaquely) when the engine answers at all.
 */
export async function unreachable(ctx, err) {
  const page = globalThis.location && globalThis.location.origin;
  if (page && page !== new URL(ctx.base).origin) {
    try {
      await ctx.fetch(url(ctx, 'healthz'), { mode: 'no-cors', cache: 'no-store' });
      return new SwitchboardError('forbidden_origin', `this page's origin (${page}) may not use the engine at ${ctx.base}`);
    } catch (_) { /* the engine does not answer: the network */ }
  }
  return new SwitchboardError('unavailable', `the engine cannot be reached: ${err && err.message}`);
}

/**
 * Uploads `file` into chat `chatId`; resolves with the attachment as messages list it.
 * `onProgress(fraction)` is called as it goes where the runtime can tell (a browser's
 * XMLHttpRequest; fetch cannot report an upload's progress).
 */
export async function uploadFile(ctx, chatId, file, name, onProgress) {
  const token = await ctx.token(false);
  const filename = name || file.name || 'attachment';
  const headers = {
    Authorization: 'Bearer ' + token,
    'Content-Type': file.type || 'application/octet-stream',
    'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(filename)}`,
  };
  const target = url(ctx, `api/v1/chats/${encodeURIComponent(chatId)}/attachments`);
  let status;
  let data = null;
  try {
    if (onProgress && typeof globalThis.XMLHttpRequest === 'function') {
      ({ status, data } = await xhrPost(target, headers, file, onProgress));
    } else {
      const res = await ctx.fetch(target, { method: 'POST', headers, body: file });
      status = res.status;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
    }
  } catch (err) {
    throw await unreachable(ctx, err);
  }
  if (status !== 201 || !data) {
    throw new SwitchboardError((data && data.code) || 'internal', (data && data.detail) || `error ${status}`, status);
  }
  return { id: data.attachment_id, name: data.name, content_type: data.content_type, size: data.size, url: `/api/v1/attachments/${data.attachment_id}` };
}

/** A POST by XMLHttpRequest (for its upload progress): `{status, data}`, data null unless JSON. */
function xhrPost(target, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new globalThis.XMLHttpRequest();
    xhr.open('POST', target);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      resolve({ status: xhr.status, data });
    };
    xhr.onerror = () => reject(new Error('the connection failed'));
    xhr.send(body);
  });
}

/** An attachment's content (its `url` from a message) as a Blob. */
export async function downloadFile(ctx, path) {
  const token = await ctx.token(false);
  const res = await ctx.fetch(url(ctx, path), { headers: { Authorization: 'Bearer ' + token } });
  if (!res.ok) throw new SwitchboardError('not_found', `the attachment could not be read (${res.status})`, res.status);
  return res.blob();
}
