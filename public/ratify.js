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
document.addEventListener('DOMContentLoaded', () => {
  const refusal = document.getElementById('form-error');
  if (!refusal) return;
  if (!refusal.hasAttribute('tabindex')) refusal.setAttribute('tabindex', '-1');
  refusal.focus({ preventScroll: true });
  refusal.scrollIntoView({ block: 'center' });
});
