// Where a layout worker's script comes from. The served app loads the file next to the page.
// The notebook view is an iframe `srcdoc` (or a saved file://) with no base URL a worker may
// load from, so it carries each worker's source text inline in
// <script type="text/plain" id="gradtrace-worker-NAME"> and the worker starts from a Blob URL.

/** @type {Map<string, string>} */
const blobUrls = new Map();

/**
 * @param {'elk'|'fast'} name which inline element to look for
 * @param {string} file the built file, relative to the page
 * @returns {string|URL}
 */
export function workerUrl(name, file) {
  const inline = document.getElementById(`gradtrace-worker-${name}`);
  if (!inline) return new URL(file, document.baseURI);
  let url = blobUrls.get(name);
  if (!url) {
    url = URL.createObjectURL(new Blob([inline.textContent || ''], { type: 'text/javascript' }));
    blobUrls.set(name, url);
  }
  return url;
}
