// The "Cite" box of a version page: pick a format, see the citation, copy or download it.
// The text comes from the citation API (/api/dandisets/{id}/versions/{v}/citation/).

for (const box of document.querySelectorAll('.cite-box')) {
  const api = box.dataset.cite;
  const select = box.querySelector('.cite-format');
  const text = box.querySelector('.cite-text');
  const status = box.querySelector('.cite-status');
  const download = box.querySelector('.cite-download');

  async function show() {
    const url = `${api}?format=${encodeURIComponent(select.value)}`;
    download.href = url;
    status.textContent = '';
    const r = await fetch(url, { credentials: 'same-origin' });
    const body = await r.text();
    if (!r.ok) {
      status.textContent = `Could not load the citation (${r.status}).`;
      return;
    }
    text.textContent = select.value.endsWith('json') ? JSON.stringify(JSON.parse(body), null, 2) : body;
  }

  select.addEventListener('change', show);
  show();
  box.querySelector('.cite-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text.textContent);
      status.textContent = 'Copied.';
    } catch {
      // no clipboard (an insecure origin): select the text so Ctrl+C copies it
      const range = document.createRange();
      range.selectNodeContents(text);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      status.textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
}
