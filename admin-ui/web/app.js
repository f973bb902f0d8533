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

// A table with a search box and pagination. columns: [{label, value(row) -> string|Node}].
function dataTable(container, caption, columns, rows, searchText) {
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
    const shown = q ? rows.filter(r => searchText(r).toLowerCase().includes(q)) : rows;
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    if (page >= pages) page = pages - 1;
    tbody.replaceChildren();
    for (const r of shown.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE)) {
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
  container.append(tools, el('div', { class: 'table-wrap' }, table), pager);
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
    const items = [['Domains', s.domains], ['Users', s.users], ['Aliases', s.aliases], ['Messages', s.messages],
      ['Queued', s.queue], ['Message data', size(s.message_bytes)], ['Database on disk', size(s.database_bytes)], ['Host', s.hostname]];
    for (const [k, v] of items) stats.append(el('div', {}, el('dt', { text: k }), el('dd', { text: String(v) })));
    const d = await api('GET', '/deliveries?limit=200');
    dataTable($('#deliveries-table'), 'Deliveries', [
      { label: 'Time', value: r => when(r.time) },
      { label: 'Direction', value: r => r.direction },
      { label: 'Recipient', value: r => r.recipient },
      { label: 'Mailbox / sender', value: r => r.direction === 'local' ? r.mailbox : r.sender },
      { label: 'Status', value: r => r.status + (r.detail ? ' — ' + r.detail : '') },
      { label: 'Size', value: r => size(r.size) },
    ], d, r => [r.recipient, r.sender, r.status, r.mailbox].join(' '));
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
    dataTable($('#queue-table'), 'Queue', [
      { label: 'ID', value: r => r.id },
      { label: 'Sender', value: r => r.sender || '<>' },
      { label: 'Recipients', value: r => r.recipients.map(x => x.address + (x.status ? ' (' + x.status + ')' : '')).join(', ') },
      { label: 'Size', value: r => size(r.size) },
      { label: 'Attempts', value: r => r.attempts },
      { label: 'Next attempt', value: r => when(r.next_attempt) },
      { label: 'Last error', value: r => r.last_error },
    ], rows, r => r.sender + ' ' + r.recipients.map(x => x.address).join(' ') + ' ' + r.last_error);
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
