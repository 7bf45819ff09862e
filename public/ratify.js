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
