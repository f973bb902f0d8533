// Roost admin panel. Plain JavaScript, no framework; loaded from this server only (CSP script-src 'self').
// Every value from the server is put into the page with textContent, never as HTML, so names containing
// markup are shown as text.
'use strict';

const state = { user: null, admin: false, csrf: '' };
const PAGE_SIZE = 10;

function $(sel) { return document.querySelector(sel); }
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch('/api/v1' + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = new Error((data && data.error) || ('request failed (' + res.status + ')'));
    err.status = res.status;
    throw err;
  }
  return data;
}

function say(msg) { $('#status').textContent = msg; }

function size(n) {
  if (!n) return '0';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
}
function when(t) { return t ? new Date(t * 1000).toLocaleString() : '-'; }
function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
  if (d) return d + ' d ' + h + ' h';
  if (h) return h + ' h ' + m + ' min';
  return m + ' min ' + (seconds % 60) + ' s';
}

// ----- the traffic chart: grouped bars per hour, drawn as SVG with presentation attributes (no inline style,
// which the CSP forbids). Every bar has a <title>; the numbers are also in a table under the chart. -----
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}
const SERIES = ['received', 'sent', 'rejected'];
function hourLabel(t, week) {
  const d = new Date(t * 1000);
  return week ? d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' })
              : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
function drawTraffic(hours, week) {
  const W = 720, H = 220, left = 36, bottom = 24, top = 8, plotW = W - left - 8, plotH = H - top - bottom;
  const max = Math.max(1, ...hours.map(h => Math.max(h.received, h.sent, h.rejected)));
  const totals = { received: 0, sent: 0, rejected: 0 };
  for (const h of hours) for (const k of SERIES) totals[k] += h[k];
  const span = week ? 'the last 7 days' : 'the last 24 hours';
  const summary = totals.received + ' received, ' + totals.sent + ' sent, ' + totals.rejected + ' rejected in ' + span + '.';
  const chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Messages per hour: ' + summary });
  const y = v => top + plotH - (v / max) * plotH;
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac);
    chart.append(svg('line', { class: 'grid', x1: left, x2: W - 8, y1: y(v), y2: y(v) }),
      svg('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  const slot = plotW / hours.length, bar = Math.max(0.6, (slot * 0.8) / 3);
  hours.forEach((h, i) => {
    const x0 = left + i * slot + slot * 0.1;
    SERIES.forEach((k, j) => {
      if (!h[k]) return;
      chart.append(svg('rect', { class: k, x: x0 + j * bar, y: y(h[k]), width: bar, height: top + plotH - y(h[k]) },
        svg('title', {}, hourLabel(h.hour, false) + ' ' + new Date(h.hour * 1000).toLocaleDateString() + ': ' + h[k] + ' ' + k)));
    });
    const every = week ? 24 : 6;
    const d = new Date(h.hour * 1000);
    if ((week ? d.getHours() === 0 : i % every === 0))
      chart.append(svg('text', { x: left + i * slot, y: H - 6 }, hourLabel(h.hour, week)));
  });
  chart.append(svg('line', { class: 'axis', x1: left, x2: W - 8, y1: top + plotH, y2: top + plotH }));
  $('#traffic-chart').replaceChildren(chart);
  $('#traffic-summary').textContent = summary;
  dataTable($('#traffic-table'), 'Hours', [
    { label: 'Hour', value: r => new Date(r.hour * 1000).toLocaleString() },
    { label: 'Received', value: r => r.received }, { label: 'Sent', value: r => r.sent },
    { label: 'Rejected', value: r => r.rejected },
  ], hours.filter(h => h.received || h.sent || h.rejected).reverse(), null);
}

// A table with a search box and pagination. columns: [{label, value(row) -> string|Node}]. Without searchText
// there is no search box (rows searched on the server, or too few to need one); opts.pager false shows every
// row without pagination.
function dataTable(container, caption, columns, rows, searchText, opts) {
  const pageSize = opts && opts.pager === false ? Infinity : PAGE_SIZE;
  container.replaceChildren();
  let page = 0;
  let query = '';
  const id = container.id + '-search';
  const search = el('input', { id, type: 'search', autocomplete: 'off' });
  const tools = el('div', { class: 'table-tools' }, el('label', { for: id, text: 'Search ' + caption.toLowerCase() }), search);
  const table = el('table');
  table.append(el('caption', { class: 'skip', text: caption }));
  const thead = el('thead');
  const hr = el('tr');
  for (const c of columns) hr.append(el('th', { scope: 'col', text: c.label }));
  thead.append(hr);
  const tbody = el('tbody');
  table.append(thead, tbody);
  const prev = el('button', { type: 'button', class: 'secondary', text: 'Previous page' });
  const next = el('button', { type: 'button', class: 'secondary', text: 'Next page' });
  const info = el('span', { 'aria-live': 'polite' });
  const pager = el('div', { class: 'pager' }, prev, info, next);

  function render() {
    const q = query.trim().toLowerCase();
    const shown = q && searchText ? rows.filter(r => searchText(r).toLowerCase().includes(q)) : rows;
    const pages = Math.max(1, Math.ceil(shown.length / pageSize));
    if (page >= pages) page = pages - 1;
    tbody.replaceChildren();
    for (const r of shown.slice(page * pageSize, (page + 1) * pageSize)) {
      const tr = el('tr');
      for (const c of columns) {
        const v = c.value(r);
        const td = el('td');
        if (v instanceof Node) td.append(v); else td.textContent = v === undefined || v === null ? '' : String(v);
        tr.append(td);
      }
      tbody.append(tr);
    }
    if (!shown.length) tbody.append(el('tr', {}, el('td', { colspan: String(columns.length), text: rows.length ? 'No match.' : 'Nothing here yet.' })));
    info.textContent = 'Page ' + (page + 1) + ' of ' + pages + ' (' + shown.length + ' rows)';
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  search.addEventListener('input', () => { query = search.value; page = 0; render(); });
  prev.addEventListener('click', () => { if (page > 0) { page--; render(); } });
  next.addEventListener('click', () => { page++; render(); });
  container.append(...(searchText ? [tools] : []), el('div', { class: 'table-wrap' }, table),
    ...(pageSize === Infinity ? [] : [pager]));
  render();
}

// Runs a form's submit through `fn`, showing the server's error message in the form's alert element.
function bindForm(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = form.querySelector('.error');
    err.textContent = '';
    for (const input of form.querySelectorAll('input[required], select[required]')) {
      if (!input.value.trim()) {
        err.textContent = (form.querySelector('label[for="' + input.id + '"]') || {}).textContent + ' is required.';
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      input.removeAttribute('aria-invalid');
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await fn(new FormData(form));
    } catch (e) {
      err.textContent = e.message;
      if (e.status === 401) { await showLogin(); }
    } finally {
      button.disabled = false;
    }
  });
}

function confirmThen(question, fn) {
  return async () => {
    if (!window.confirm(question)) return;
    try { await fn(); } catch (e) { say(''); window.alert(e.message); }
  };
}

// ----- views -----
const views = {
  async dashboard() {
    const s = await api('GET', '/status');
    const stats = $('#stats');
    stats.replaceChildren();
    const items = [['Received today', s.today.received], ['Sent today', s.today.sent], ['Rejected today', s.today.rejected],
      ['Queued', s.queue], ['Domains', s.domains], ['Users', s.users], ['Aliases', s.aliases], ['Messages', s.messages],
      ['Message data', size(s.message_bytes)], ['Database on disk', size(s.database_bytes)], ['Host', s.hostname]];
    for (const [k, v] of items) stats.append(el('div', {}, el('dt', { text: k }), el('dd', { text: String(v) })));
    const showTraffic = (week) => {
      $('#traffic-day').setAttribute('aria-pressed', String(!week));
      $('#traffic-week').setAttribute('aria-pressed', String(week));
      drawTraffic(week ? s.traffic.week : s.traffic.day, week);
    };
    $('#traffic-day').onclick = () => showTraffic(false);
    $('#traffic-week').onclick = () => showTraffic(true);
    showTraffic($('#traffic-week').getAttribute('aria-pressed') === 'true');
    const names = { smtpd: 'SMTP (roost-smtpd)', imapd: 'IMAP (roost-imapd)', pop3d: 'POP3 (roost-pop3d)', admin: 'Admin panel (roost-admin)' };
    dataTable($('#daemons-table'), 'Services', [
      { label: 'Service', value: d => names[d.name] || d.name },
      { label: 'State', value: d => el('span', { class: d.running ? 'state-up' : 'state-down', text: d.running ? 'running' : 'stopped' }) },
      { label: 'Up for', value: d => d.running ? duration(d.uptime) : '-' },
      { label: 'Open connections', value: d => d.running ? d.connections : '-' },
      { label: 'Process', value: d => d.running ? String(d.pid) : '-' },
    ], s.daemons, null, { pager: false });
    const d = await api('GET', '/deliveries?limit=50');
    dataTable($('#deliveries-table'), 'Deliveries', logColumns(), d, logText);
  },

  async log() {
    const q = new URLSearchParams({ limit: '1000' });
    const text = $('#log-q').value.trim(), status = $('#log-status').value;
    if (text) q.set('q', text);
    if (status) q.set('status', status);
    const rows = await api('GET', '/deliveries?' + q.toString());
    dataTable($('#log-table'), 'Log lines', logColumns(), rows, null);
  },

  async domains() {
    const rows = await api('GET', '/domains');
    dataTable($('#domains-table'), 'Domains', [
      { label: 'Domain', value: r => r.name },
      { label: 'Users', value: r => r.users },
      { label: 'Aliases', value: r => r.aliases },
      { label: 'Created', value: r => when(r.created) },
      { label: 'Actions', value: r => el('span', {},
        el('a', { href: '#/dns?domain=' + encodeURIComponent(r.name), text: 'DNS records' }), ' ',
        el('button', { type: 'button', class: 'danger small', 'aria-label': 'Remove domain ' + r.name, text: 'Remove',
          onclick: confirmThen('Remove the domain ' + r.name + '?', async () => {
            await api('DELETE', '/domains/' + encodeURIComponent(r.name)); say('Removed domain ' + r.name + '.'); await views.domains();
          }) })) },
    ], rows, r => r.name);
  },

  async users() {
    const rows = await api('GET', '/users');
    dataTable($('#users-table'), 'Users', [
      { label: 'Address', value: r => r.address },
      { label: 'Used', value: r => size(r.used) },
      { label: 'Quota', value: r => r.quota ? size(r.quota) : 'unlimited' },
      { label: 'Status', value: r => r.enabled ? 'enabled' : 'disabled' },
      { label: 'Actions', value: r => el('span', {},
        el('button', { type: 'button', class: 'secondary small', 'aria-label': 'Manage ' + r.address, text: 'Manage',
          onclick: () => showUser(r.address) }),
        el('button', { type: 'button', class: 'danger small', 'aria-label': 'Remove user ' + r.address, text: 'Remove',
          onclick: confirmThen('Remove ' + r.address + ' and ALL of its mail?', async () => {
            await api('DELETE', '/users/' + encodeURIComponent(r.address)); say('Removed user ' + r.address + '.');
            $('#user-detail').hidden = true; await views.users();
          }) })) },
    ], rows, r => r.address);
  },

  async aliases() {
    const rows = await api('GET', '/aliases');
    dataTable($('#aliases-table'), 'Aliases', [
      { label: 'Source', value: r => r.source + (r.catch_all ? ' (catch-all)' : '') },
      { label: 'Targets', value: r => r.targets.join(', ') },
      { label: 'Actions', value: r => el('button', { type: 'button', class: 'danger small', 'aria-label': 'Remove alias ' + r.source,
        text: 'Remove', onclick: confirmThen('Remove the alias ' + r.source + '?', async () => {
          await api('DELETE', '/aliases/' + encodeURIComponent(r.source)); say('Removed alias ' + r.source + '.'); await views.aliases();
        }) }) },
    ], rows, r => r.source + ' ' + r.targets.join(' '));
  },

  async queue() {
    const rows = await api('GET', '/queue');
    $('#queue-flush').disabled = !rows.length;
    dataTable($('#queue-table'), 'Queue', [
      { label: 'ID', value: r => r.id },
      { label: 'Sender', value: r => r.sender || '<>' },
      { label: 'Subject', value: r => r.subject },
      { label: 'Recipients', value: r => r.recipients.map(x => x.address + (x.status ? ' (' + x.status + ')' : '')).join(', ') },
      { label: 'Size', value: r => size(r.size) },
      { label: 'Attempts', value: r => r.attempts },
      { label: 'Next attempt', value: r => r.being_delivered ? 'being delivered' : when(r.next_attempt) },
      { label: 'Last error', value: r => r.last_error },
      { label: 'Actions', value: r => el('span', {},
        el('button', { type: 'button', class: 'secondary small', 'aria-label': 'Details of queued message ' + r.id, text: 'Details',
          onclick: () => showQueueEntry(r.id) }),
        el('button', { type: 'button', class: 'secondary small', 'aria-label': 'Retry queued message ' + r.id, text: 'Retry',
          onclick: confirmThen('Try to deliver queued message ' + r.id + ' now?', async () => {
            await api('POST', '/queue/' + r.id + '/retry'); say('Queued message ' + r.id + ' will be retried now.'); await views.queue();
          }) }),
        el('button', { type: 'button', class: 'danger small', 'aria-label': 'Delete queued message ' + r.id, text: 'Delete',
          onclick: confirmThen('Delete queued message ' + r.id + '? It will not be delivered and the sender is not told.', async () => {
            await api('DELETE', '/queue/' + r.id); say('Deleted queued message ' + r.id + '.');
            $('#queue-detail').hidden = true; await views.queue();
          }) })) },
    ], rows, r => r.sender + ' ' + r.subject + ' ' + r.recipients.map(x => x.address).join(' ') + ' ' + r.last_error);
  },

  async dns(params) {
    const domains = await api('GET', '/domains');
    const sel = $('#dns-domain');
    sel.replaceChildren(...domains.map(d => el('option', { value: d.name, text: d.name })));
    const wanted = params.get('domain') || (domains[0] && domains[0].name);
    $('#dns-table').replaceChildren();
    $('#dns-zone').value = '';
    if (!wanted) return;
    sel.value = wanted;
    const r = await api('GET', '/domains/' + encodeURIComponent(wanted) + '/dns');
    dataTable($('#dns-table'), 'Records', [
      { label: 'Purpose', value: x => x.purpose },
      { label: 'Name', value: x => el('code', { text: x.name }) },
      { label: 'Type', value: x => x.type },
      { label: 'Value', value: x => el('code', { text: x.value }) },
    ], r.records, x => x.purpose + ' ' + x.name + ' ' + x.value);
    $('#dns-zone').value = r.zone;
    dataTable($('#dkim-keys'), 'DKIM keys', [
      { label: 'Selector', value: k => k.selector },
      { label: 'Type', value: k => k.algorithm },
      { label: 'Created', value: k => when(k.created) },
      { label: 'Record name', value: k => el('code', { text: k.name }) },
      { label: 'Actions', value: k => el('button', { type: 'button', class: 'danger small', 'aria-label': 'Remove DKIM key ' + k.selector,
        text: 'Remove', onclick: confirmThen('Remove the DKIM key "' + k.selector + '" of ' + wanted + '? Mail is no longer signed with it.', async () => {
          await api('DELETE', '/domains/' + encodeURIComponent(wanted) + '/dkim/' + encodeURIComponent(k.selector));
          say('Removed DKIM key ' + k.selector + '.'); await views.dns(new URLSearchParams({ domain: wanted }));
        }) }) },
    ], r.dkim_keys, null, { pager: false });
    $('#dkim-form').dataset.domain = wanted;
    $('#dkim-form').dataset.keys = String(r.dkim_keys.length);
  },

  async tokens() {
    const rows = await api('GET', '/tokens');
    dataTable($('#tokens-table'), 'Tokens', [
      { label: 'Name', value: r => r.name },
      { label: 'Created by', value: r => r.admin },
      { label: 'Created', value: r => when(r.created) },
      { label: 'Last used', value: r => when(r.last_used) },
      { label: 'Actions', value: r => el('button', { type: 'button', class: 'danger small', 'aria-label': 'Revoke token ' + r.name,
        text: 'Revoke', onclick: confirmThen('Revoke the token "' + r.name + '"? Scripts using it stop working.', async () => {
          await api('DELETE', '/tokens/' + r.id); say('Revoked token ' + r.name + '.'); await views.tokens();
        }) }) },
    ], rows, r => r.name + ' ' + r.admin);
  },

  async account() {
    const me = await api('GET', '/me');
    const info = $('#account-info');
    info.replaceChildren(el('div', {}, el('dt', { text: 'Address' }), el('dd', { text: me.address })));
    if (me.used !== undefined) {
      info.append(el('div', {}, el('dt', { text: 'Used' }), el('dd', { text: size(me.used) })),
        el('div', {}, el('dt', { text: 'Quota' }), el('dd', { text: me.quota ? size(me.quota) : 'unlimited' })));
      dataTable($('#account-mailboxes'), 'Mailboxes', [
        { label: 'Mailbox', value: m => m.name },
        { label: 'Messages', value: m => m.messages },
        { label: 'Unseen', value: m => m.unseen },
        { label: 'Size', value: m => size(m.size) },
      ], me.mailboxes, m => m.name);
      const q = '?emailaddress=' + encodeURIComponent(me.address);
      $('#account-setup').replaceChildren(
        el('h2', { text: 'Set up your mail app' }),
        el('ul', {},
          el('li', {}, el('a', { href: '/apple/mail.mobileconfig' + q, text: 'Apple profile for iPhone, iPad and Mac (.mobileconfig)' })),
          el('li', {}, el('a', { href: '/mail/config-v1.1.xml' + q, text: 'Thunderbird settings (autoconfig)' }))));
    } else {
      $('#account-setup').replaceChildren();
      $('#account-mailboxes').replaceChildren();
    }
  },
};

function logColumns() {
  return [
    { label: 'Time', value: r => when(r.time) },
    { label: 'Status', value: r => r.status },
    { label: 'From', value: r => r.sender || '<>' },
    { label: 'To', value: r => r.recipient + (r.mailbox ? ' (' + r.mailbox + ')' : '') },
    { label: 'Subject', value: r => r.subject },
    { label: 'Detail', value: r => [r.client ? 'client ' + r.client : '', r.detail].filter(Boolean).join(': ') },
    { label: 'Size', value: r => r.size ? size(r.size) : '' },
  ];
}
function logText(r) { return [r.sender, r.recipient, r.subject, r.status, r.detail, r.client].join(' '); }

async function showQueueEntry(id) {
  const box = $('#queue-detail');
  const e = await api('GET', '/queue/' + id);
  box.replaceChildren(el('h2', { text: 'Queued message ' + e.id }));
  const facts = el('dl', { class: 'stats' });
  for (const [k, v] of [['From', e.sender || '<>'], ['Size', size(e.size)], ['Queued', when(e.created)], ['Attempts', e.attempts],
    ['Next attempt', e.being_delivered ? 'being delivered' : when(e.next_attempt)]])
    facts.append(el('div', {}, el('dt', { text: k }), el('dd', { text: String(v) })));
  box.append(facts);
  const rcpts = el('div', { id: 'queue-detail-recipients' });
  box.append(rcpts);
  dataTable(rcpts, 'Recipients', [
    { label: 'Recipient', value: x => x.address }, { label: 'Status', value: x => x.status },
    { label: 'Server', value: x => x.remote_mta }, { label: 'Last reply', value: x => x.last_reply },
  ], e.recipients, null, { pager: false });
  box.append(el('h3', { text: 'Message header' }),
    el('pre', { class: 'headers', text: e.headers.map(h => h.name + ': ' + h.value).join('\n') }));
  box.hidden = false;
  box.focus();
}

async function showUser(address) {
  const box = $('#user-detail');
  const u = await api('GET', '/users/' + encodeURIComponent(address));
  box.replaceChildren();
  box.append(el('h2', { text: 'User ' + u.address }));
  const tableHost = el('div', { id: 'user-mailboxes' });
  box.append(tableHost);
  dataTable(tableHost, 'Mailboxes', [
    { label: 'Mailbox', value: m => m.name }, { label: 'Messages', value: m => m.messages },
    { label: 'Unseen', value: m => m.unseen }, { label: 'Size', value: m => size(m.size) },
  ], u.mailboxes, m => m.name);

  const path = '/users/' + encodeURIComponent(u.address);
  const pwForm = el('form', { class: 'card', novalidate: '' },
    el('label', { for: 'ud-password', text: 'New password' }),
    el('input', { id: 'ud-password', name: 'password', type: 'password', required: '', minlength: '8', autocomplete: 'new-password' }),
    el('p', { class: 'error', role: 'alert' }), el('button', { type: 'submit', text: 'Set password' }));
  bindForm(pwForm, async (f) => { await api('PUT', path + '/password', { password: f.get('password') }); pwForm.reset(); say('Password of ' + u.address + ' changed.'); });
  const quotaForm = el('form', { class: 'card', novalidate: '' },
    el('label', { for: 'ud-quota', text: 'Quota (e.g. 500M; 0 = unlimited)' }),
    el('input', { id: 'ud-quota', name: 'quota', required: '', value: String(u.quota), autocomplete: 'off' }),
    el('p', { class: 'error', role: 'alert' }), el('button', { type: 'submit', text: 'Set quota' }));
  bindForm(quotaForm, async (f) => { await api('PUT', path + '/quota', { quota: f.get('quota') }); say('Quota of ' + u.address + ' set.'); await views.users(); });
  const toggle = el('button', { type: 'button', class: u.enabled ? 'danger' : 'secondary', text: u.enabled ? 'Disable user' : 'Enable user',
    onclick: confirmThen((u.enabled ? 'Disable ' : 'Enable ') + u.address + '?', async () => {
      await api('PUT', path + '/enabled', { enabled: !u.enabled }); say(u.address + (u.enabled ? ' disabled.' : ' enabled.'));
      await views.users(); await showUser(u.address);
    }) });
  box.append(pwForm, quotaForm, toggle);
  box.hidden = false;
  box.focus();
}

// ----- forms -----
function setupForms() {
  bindForm($('#login-form'), async (f) => {
    const s = await api('POST', '/login', { username: f.get('username'), password: f.get('password') });
    $('#login-form').reset();
    setSession(s);
    location.hash = s.admin ? '#/dashboard' : '#/account';
    await route();
  });
  bindForm($('#domain-form'), async (f) => {
    const d = await api('POST', '/domains', { name: f.get('name') });
    $('#domain-form').reset(); say('Added domain ' + d.name + '.'); await views.domains();
  });
  bindForm($('#user-form'), async (f) => {
    const body = { address: f.get('address'), password: f.get('password') };
    if (f.get('quota')) body.quota = f.get('quota');
    const u = await api('POST', '/users', body);
    $('#user-form').reset(); say('Added user ' + u.address + '.'); await views.users();
  });
  bindForm($('#alias-form'), async (f) => {
    const targets = String(f.get('targets')).split(',').map(s => s.trim()).filter(Boolean);
    const a = await api('POST', '/aliases', { source: f.get('source'), targets });
    $('#alias-form').reset(); say('Added alias ' + a.source + '.'); await views.aliases();
  });
  bindForm($('#dns-form'), async (f) => { location.hash = '#/dns?domain=' + encodeURIComponent(f.get('domain')); });
  bindForm($('#dkim-form'), async (f) => {
    const form = $('#dkim-form');
    const domain = form.dataset.domain;
    if (!domain) throw new Error('Choose a domain first.');
    if (form.dataset.keys !== '0' &&
        !window.confirm('Generate another DKIM key for ' + domain + '? Both keys sign until you remove the old one.')) return;
    const k = await api('POST', '/domains/' + encodeURIComponent(domain) + '/dkim', { algorithm: f.get('algorithm') });
    $('#dkim-record').value = k.record.zone_line;
    $('#dkim-new').hidden = false;
    await views.dns(new URLSearchParams({ domain }));
    say('Generated DKIM key ' + k.selector + ' for ' + domain + '.');
  });
  bindForm($('#log-form'), async () => { await views.log(); });
  $('#queue-flush').addEventListener('click', confirmThen('Try to deliver every queued message now?', async () => {
    await api('POST', '/queue/flush'); say('Every queued message will be retried now.'); await views.queue();
  }));
  bindForm($('#token-form'), async (f) => {
    const t = await api('POST', '/tokens', { name: f.get('name') });
    $('#token-form').reset();
    $('#token-value').value = t.token;
    $('#token-new').hidden = false;
    say('Created token ' + t.name + '.');
    await views.tokens();
  });
  bindForm($('#password-form'), async (f) => {
    if (f.get('new_password') !== f.get('repeat')) throw new Error('The new passwords do not match.');
    await api('POST', '/me/password', { current_password: f.get('current_password'), new_password: f.get('new_password') });
    $('#password-form').reset();
    say('Your password was changed.');
  });
  $('#dns-copy').addEventListener('click', async () => {
    const t = $('#dns-zone');
    t.select();
    try { await navigator.clipboard.writeText(t.value); say('Copied.'); } catch (e) { say('Select the text and copy it.'); }
  });
  $('#logout').addEventListener('click', async () => {
    try { await api('POST', '/logout'); } catch (e) { /* already logged out */ }
    setSession(null);
    location.hash = '#/login';
    await route();
  });
}

function setSession(s) {
  state.user = s ? s.user : null;
  state.admin = !!(s && s.admin);
  state.csrf = s ? s.csrf : '';
  $('#nav').hidden = !s;
  $('#logout').hidden = !s;
  $('#whoami').textContent = s ? (s.user + (s.admin ? ' (admin)' : '')) : '';
  for (const li of document.querySelectorAll('#nav [data-admin]')) li.hidden = !state.admin;
}

async function showLogin() {
  setSession(null);
  showView('login');
  $('#login-user').focus();
}

function showView(name) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + name;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === '#/' + name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = (name === 'login' ? 'Log in' : name.charAt(0).toUpperCase() + name.slice(1)) + ' — Roost admin';
}

async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, qs] = hash.split('?');
  if (!state.user) { await showLogin(); return; }
  let view = name || (state.admin ? 'dashboard' : 'account');
  if (!views[view] || (!state.admin && view !== 'account')) view = state.admin ? 'dashboard' : 'account';
  showView(view);
  if (view !== 'tokens') $('#token-new').hidden = true;
  if (view !== 'dns') $('#dkim-new').hidden = true;
  if (view !== 'queue') $('#queue-detail').hidden = true;
  try {
    await views[view](new URLSearchParams(qs || ''));
  } catch (e) {
    if (e.status === 401) { await showLogin(); return; }
    say('');
    $('#status').textContent = 'Error: ' + e.message;
  }
}

async function start() {
  setupForms();
  try { setSession(await api('GET', '/session')); } catch (e) { setSession(null); }
  window.addEventListener('hashchange', () => { say(''); route(); });
  await route();
}

document.addEventListener('DOMContentLoaded', start);
