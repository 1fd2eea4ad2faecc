// Attachments on the pages (contract §12): uploading a file into a chat with progress, reading
// one back as a blob (the download route wants the bearer token, which an <img> cannot send),
// and refusals in words. Used by the Chat window (chatwindow.js).
'use strict';

const SBFiles = (() => {
  const blobs = new Map(); // url -> Promise<object URL>

  // Uploads `file` into chat `chatId`; onProgress(fraction) as it goes. Resolves with the
  // attachment as a message lists it ({id, name, content_type, size, url}).
  function upload(chatId, file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/v1/chats/${encodeURIComponent(chatId)}/attachments`);
      xhr.setRequestHeader('Authorization', 'Bearer ' + SB.token);
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      xhr.setRequestHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name || 'pasted.png')}`);
      xhr.upload.onprogress = (ev) => { if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status === 201 && data) {
          resolve({ id: data.attachment_id, name: data.name, content_type: data.content_type, size: data.size, url: `/api/v1/attachments/${data.attachment_id}` });
        } else {
          reject(refusal(file, xhr.status, data));
        }
      };
      xhr.onerror = () => reject(new Error(`Could not attach ${file.name || 'the file'}: the connection failed.`));
      xhr.send(file);
    });
  }

  // A refused upload in words a person can act on.
  function refusal(file, status, data) {
    const name = file.name || 'The file';
    const code = data && data.code;
    if (code === 'payload_too_large' || status === 413) return new Error(`${name} is too large to attach (${(data && data.detail) || 'over the limit'}).`);
    if (code === 'unsupported_media_type' || status === 415) return new Error(`${name} cannot be attached: only images (PNG, JPEG, GIF, WebP), PDF, plain text and zip files are accepted, and the file must really be one.`);
    if (code === 'conflict') return new Error(`${name} was not attached: the chat has ended.`);
    return new Error(`${name} was not attached: ${(data && data.detail) || 'error ' + status}.`);
  }

  // An object URL for attachment `url`, fetched once with the page's token.
  function blobUrl(url) {
    if (!blobs.has(url)) {
      blobs.set(url, fetch(url, { headers: { Authorization: 'Bearer ' + SB.token } }).then((res) => {
        if (!res.ok) throw new Error(`could not load the attachment (${res.status})`);
        return res.blob();
      }).then((blob) => URL.createObjectURL(blob)).catch((err) => { blobs.delete(url); throw err; }));
    }
    return blobs.get(url);
  }

  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  // The list of a message's files: images as thumbnails that open full size, others as links.
  function render(attachments) {
    const { el } = SB;
    if (!attachments || !attachments.length) return null;
    return el('ul', { class: 'attachments' }, attachments.map((a) => {
      if (a.content_type.startsWith('image/')) {
        const img = el('img', { class: 'thumb', alt: a.name, title: a.name });
        const link = el('a', { href: '#', target: '_blank', rel: 'noopener', 'aria-label': `Open ${a.name} full size` }, img);
        blobUrl(a.url).then((u) => { img.src = u; link.href = u; }).catch(() => { img.alt = `${a.name} (could not be loaded)`; });
        return el('li', {}, link);
      }
      const link = el('a', { href: '#', download: a.name, onclick: async (ev) => {
        if (link.dataset.ready) return;
        ev.preventDefault();
        try {
          link.href = await blobUrl(a.url);
          link.dataset.ready = '1';
          link.click();
        } catch (err) { link.textContent = `${a.name} (could not be downloaded)`; }
      } }, `Download ${a.name} (${size(a.size)})`);
      return el('li', {}, link);
    }));
  }

  return { upload, blobUrl, render };
})();
