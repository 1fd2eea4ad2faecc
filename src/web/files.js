// Attachments on the pages (contract §12), as the pages draw them: a message's files as
// thumbnails and download links, an upload's refusal in words. The HTTP calls (the upload with
// its progress, reading a file back with the bearer token, which an <img> cannot send) are the
// client library's (`SBFiles.use(client)`). Used by the Chat window (chatwindow.js).
'use strict';

const SBFiles = (() => {
  const blobs = new Map(); // url -> Promise<object URL>
  let client = null;

  // The page's SwitchboardClient (/sdk/switchboard.js): it speaks to the engine; this file draws.
  function use(c) { client = c; }

  // Uploads `file` into chat `chatId`; onProgress(fraction) as it goes. Resolves with the
  // attachment as a message lists it ({id, name, content_type, size, url}); rejects with the
  // refusal in words.
  async function upload(chatId, file, onProgress) {
    try {
      return await client.upload(chatId, file, file.name || 'pasted.png', onProgress);
    } catch (err) {
      throw refusal(file, err);
    }
  }

  // A refused upload (a SwitchboardError) in words a person can act on.
  function refusal(file, err) {
    const name = file.name || 'The file';
    if (err.code === 'payload_too_large' || err.status === 413) return new Error(`${name} is too large to attach (${err.message || 'over the limit'}).`);
    if (err.code === 'unsupported_media_type' || err.status === 415) return new Error(`${name} cannot be attached: only images (PNG, JPEG, GIF, WebP), PDF, plain text and zip files are accepted, and the file must really be one.`);
    if (err.code === 'conflict') return new Error(`${name} was not attached: the chat has ended.`);
    if (err.code === 'unavailable') return new Error(`Could not attach ${file.name || 'the file'}: the connection failed.`);
    return new Error(`${name} was not attached: ${err.message || 'error ' + err.status}.`);
  }

  // An object URL for attachment `url`, read once with the page's token.
  function blobUrl(url) {
    if (!blobs.has(url)) {
      blobs.set(url, client.download(url).then((blob) => URL.createObjectURL(blob))
        .catch((err) => { blobs.delete(url); throw err; }));
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

  return { use, upload, blobUrl, render };
})();
