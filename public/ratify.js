// Progressive enhancement only: pages work without it.
// Adds the reader's local time beside each UTC time.
document.addEventListener('DOMContentLoaded', () => {
  for (const t of document.querySelectorAll('time[data-local]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (Number.isNaN(d.getTime())) continue;
    const local = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    const span = document.createElement('span');
    span.className = 'localtime';
    span.textContent = ` (your time: ${local})`;
    t.after(span);
  }
});

// Deadlines are typed in the reader's own time zone. The page gives the field in UTC (and reads
// it as UTC without this script); here it is shown in local time, the zone is named, and on
// submit a hidden field sends the instant in UTC beside it (`<name>Utc`), which the server prefers.
document.addEventListener('DOMContentLoaded', () => {
  const pad = (n) => String(n).padStart(2, '0');
  const local = (d) =>
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const fromUtc = (v) => (v ? new Date(`${v.length === 16 ? `${v}:00` : v}Z`) : null);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'your time zone';
  for (const input of document.querySelectorAll('input[type="datetime-local"][data-utc]')) {
    const value = fromUtc(input.value);
    const min = fromUtc(input.getAttribute('min'));
    if (value && !Number.isNaN(value.getTime())) input.value = local(value);
    if (min && !Number.isNaN(min.getTime())) input.setAttribute('min', local(min));
    const label = document.querySelector(`label[for="${input.id}"] .tz`);
    if (label) label.textContent = `(your time, ${zone})`;
    const hint = input.form?.querySelector('.tz-hint');
    if (hint) hint.textContent = `In your time zone, ${zone}; others see it in theirs, and in UTC.`;
    const hidden = document.createElement('input');
    hidden.type = 'hidden';
    hidden.name = `${input.name}Utc`;
    input.form?.append(hidden);
    input.form?.addEventListener('submit', () => {
      const d = new Date(input.value);
      hidden.value = Number.isNaN(d.getTime()) ? '' : d.toISOString();
    });
  }
});

// A refusal is shown beside the form it belongs to, which may be far down the page: bring it
// into view and give it the focus, so that it is read first (the GOV.UK error pattern).
const focusRefusal = () => {
  const refusal = document.getElementById('form-error');
  if (!refusal || document.activeElement === refusal) return;
  if (!refusal.hasAttribute('tabindex')) refusal.setAttribute('tabindex', '-1');
  refusal.focus({ preventScroll: true });
  refusal.scrollIntoView({ block: 'center' });
};
document.addEventListener('DOMContentLoaded', focusRefusal);
// Going to the page's #fragment after loading may move the focus away again: take it back once.
window.addEventListener('load', () => setTimeout(focusRefusal, 0));

// Select to comment. On a text that takes comments (`data-comment-text`), selecting words shows a
// "Comment" button beside them; it puts the selected words in the comment form's quote (the server
// finds them in the text as shown, across bold text and links), brings the form beside the passage
// (in the paragraph's comment column, under the paragraph on phones) and moves focus to the comment
// box. Without this script the same form, with its quote box, is at the end of the page.
document.addEventListener('DOMContentLoaded', () => {
  const texts = [...document.querySelectorAll('[data-comment-text]')];
  const box = document.getElementById('new-comment');
  const form = box?.querySelector('form');
  const quote = form?.querySelector('input[name="quote"]');
  const body = form?.querySelector('textarea[name="body"]');
  if (!texts.length || !box || !quote || !body) return;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'select-comment';
  button.textContent = 'Comment';
  button.hidden = true;
  let chosen = null; // { words, root, block }
  const rootOf = (node) => {
    const el = node?.nodeType === 1 ? node : node?.parentElement;
    return texts.find((t) => el && t.contains(el)) ?? null;
  };
  /** The top-level element of `root` that holds `node` (a paragraph row, or a block of the text). */
  const blockOf = (root, node) => {
    let el = node.nodeType === 1 ? node : node.parentElement;
    const row = el?.closest('.prow');
    if (row && root.contains(row)) return row;
    const prose = el?.closest('.prose');
    while (el?.parentElement && el.parentElement !== prose && el.parentElement !== root) el = el.parentElement;
    return el;
  };
  const hide = () => {
    button.hidden = true;
    chosen = null;
  };
  const update = () => {
    const sel = document.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) {
      if (document.activeElement !== button) hide();
      return;
    }
    const range = sel.getRangeAt(0);
    const root = rootOf(range.startContainer);
    const words = sel.toString().replace(/\s+/g, ' ').trim();
    if (!root || rootOf(range.endContainer) !== root || !words || box.contains(range.startContainer)) {
      hide();
      return;
    }
    chosen = { words: words.slice(0, 2000), root, block: blockOf(root, range.endContainer) };
    const rects = range.getClientRects();
    const last = rects[rects.length - 1] ?? range.getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    if (chosen.block && button.previousElementSibling !== chosen.block) chosen.block.after(button);
    button.hidden = false;
    const at = button.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0 };
    button.style.left = `${Math.max(0, Math.min(last.right, width - button.offsetWidth - 8) - at.left)}px`;
    button.style.top = `${last.bottom + 6 - at.top}px`;
  };
  let timer = 0;
  document.addEventListener('selectionchange', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 120);
  });
  // Keep the selection while the button is pressed.
  button.addEventListener('mousedown', (e) => e.preventDefault());
  button.addEventListener('click', () => {
    if (!chosen) return;
    quote.value = chosen.words;
    const row = chosen.block?.classList.contains('prow') ? chosen.block : null;
    if (row) {
      let column = row.querySelector(':scope > .pthreads');
      if (!column) {
        column = document.createElement('div');
        column.className = 'pthreads';
        row.append(column);
        row.classList.add('has-threads');
      }
      column.append(box);
    } else if (chosen.block) chosen.block.after(box);
    // Beside a paragraph, the form's title is no longer a heading of the page's outline (it would
    // sit between the text's own headings, out of order): the same words, as its label.
    const title = box.querySelector('#new-comment-h');
    if (title && /^H[1-6]$/.test(title.tagName)) {
      const label = document.createElement('p');
      label.id = title.id;
      label.className = 'form-title';
      label.textContent = title.textContent;
      title.replaceWith(label);
    }
    box.classList.add('beside');
    hide();
    body.focus();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !button.hidden) hide();
  });
});

// "Copy" beside a version's citation (the text stays selectable without this script).
document.addEventListener('DOMContentLoaded', () => {
  const cite = document.querySelector('#citation .cite-text');
  if (!cite || !navigator.clipboard) return;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary small noprint';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', 'Copy the citation');
  button.addEventListener('click', async () => {
    await navigator.clipboard.writeText(cite.textContent.trim());
    button.textContent = 'Copied';
  });
  cite.parentElement.append(' ', button);
});

// The fields a refusal is about (its `data-fields`: the inputs' names) say so to assistive
// technology: aria-invalid, and the refusal as their description. The form is the one the
// refusal sits in, or else the first on the page with such a field.
document.addEventListener('DOMContentLoaded', () => {
  for (const alert of document.querySelectorAll('.error[role="alert"][data-fields]')) {
    if (!alert.id) continue;
    for (const name of alert.getAttribute('data-fields').split(' ').filter(Boolean)) {
      const scope =
        alert.closest('form') ?? [...document.forms].find((f) => f.querySelector(`[name="${CSS.escape(name)}"]`));
      for (const input of scope?.querySelectorAll(`[name="${CSS.escape(name)}"]`) ?? []) {
        input.setAttribute('aria-invalid', 'true');
        const described = (input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
        if (!described.includes(alert.id)) input.setAttribute('aria-describedby', [alert.id, ...described].join(' '));
      }
    }
  }
});

// In a refusal that lists several problems, each links to its field (the input of that name in
// the form the refusal belongs to, or the page's first with one); without this script, to the refusal.
document.addEventListener('DOMContentLoaded', () => {
  for (const link of document.querySelectorAll('#form-error a[data-field]')) {
    const name = link.getAttribute('data-field');
    const alert = link.closest('#form-error');
    const scope =
      alert.closest('form') ?? [...document.forms].find((f) => f.querySelector(`[name="${CSS.escape(name)}"]`));
    const input = scope?.querySelector(`[name="${CSS.escape(name)}"][id]`);
    if (input) link.setAttribute('href', `#${input.id}`);
  }
});
