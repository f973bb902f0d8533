// End-to-end tests of the roost-admin panel in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core). Run by test_admin_browser.py in two phases around an SMTP delivery and an IMAP read:
//   node browser_test.js admin   — log in as admin, create a domain, a user and an alias in the panel, check
//                                  form errors, confirmation of destructive actions, markup shown as text,
//                                  the phone-width layout; screenshot every page
//   node browser_test.js dashboard — after mail was delivered, refused and queued: the traffic chart, the
//                                  services table, the delivery log and its search
//   node browser_test.js queue   — the queued message's details, retry and delete (each confirmed first)
//   node browser_test.js user    — the new user logs in (keyboard only), sees the delivered message in the
//                                  quota/mailbox view, changes the password and logs in with the new one
// Settings come from the environment (see test_admin_browser.py). Exits non-zero on the first failure.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { chromium } = require('playwright-core');

const env = (k) => { if (!process.env[k]) throw new Error('missing ' + k); return process.env[k]; };
const URL = env('ADMIN_URL');
const SHOTS = env('SCREENSHOT_DIR');
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

async function login(page, user, password) {
  await page.goto(URL + '/#/login');
  await page.locator('#view-login').waitFor({ state: 'visible' });
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
}

async function go(page, hash, viewId) {
  await page.goto(URL + '/' + hash);
  await page.locator('#' + viewId).waitFor({ state: 'visible' });
}

async function formError(page, form) {
  const err = page.locator(form + ' .error');
  await err.filter({ hasText: /./ }).waitFor();
  return err.textContent();
}

async function adminPhase(page) {
  const domain = env('NEW_DOMAIN'), user = env('NEW_USER'), pw = env('NEW_USER_PW');
  const xss = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await (page.__acceptDialogs ? d.accept() : d.dismiss()); });

  await page.goto(URL + '/');
  await page.locator('#view-login').waitFor({ state: 'visible' });
  await shot(page, 'login');
  await login(page, env('ADMIN_USER'), 'wrong password');
  assert.match(await formError(page, '#login-form'), /wrong address or password/);
  await login(page, env('ADMIN_USER'), env('ADMIN_PW'));
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await page.locator('#stats dd').first().waitFor();
  await shot(page, 'dashboard');

  // Domains: the server's error message shows in the form; a new domain appears in the table.
  await go(page, '#/domains', 'view-domains');
  await page.fill('#domain-name', 'not a domain');
  await page.click('#domain-form button[type=submit]');
  assert.match(await formError(page, '#domain-form'), /invalid domain/);
  await page.fill('#domain-name', domain);
  await page.click('#domain-form button[type=submit]');
  await page.locator('#domains-table td', { hasText: domain }).first().waitFor();
  await page.fill('#domain-name', domain);
  await page.click('#domain-form button[type=submit]');
  assert.match(await formError(page, '#domain-form'), /already exists/);

  // Destructive actions ask first: dismissing keeps the domain, accepting removes it.
  await page.fill('#domain-name', 'remove-me.test');
  await page.click('#domain-form button[type=submit]');
  const removeBtn = page.getByRole('button', { name: 'Remove domain remove-me.test' });
  await removeBtn.waitFor();
  page.__acceptDialogs = false;
  await removeBtn.click();
  await page.waitForTimeout(200);
  assert.ok(dialogs.some((m) => m.includes('remove-me.test')), 'a confirmation was asked');
  assert.equal(await removeBtn.count(), 1, 'dismissed: the domain stays');
  page.__acceptDialogs = true;
  await removeBtn.click();
  await removeBtn.waitFor({ state: 'detached' });
  // Search filters the table.
  await page.fill('#domains-table-search', domain);
  assert.equal(await page.locator('#domains-table tbody tr').count(), 1);
  await page.fill('#domains-table-search', '');
  await shot(page, 'domains');

  // Users
  await go(page, '#/users', 'view-users');
  await page.fill('#user-address', user);
  await page.fill('#user-password', 'short');
  await page.click('#user-form button[type=submit]');
  assert.match(await formError(page, '#user-form'), /at least 8 characters/);
  await page.fill('#user-password', pw);
  await page.fill('#user-quota', '50M');
  await page.click('#user-form button[type=submit]');
  await page.locator('#users-table td', { hasText: user }).first().waitFor();
  await page.getByRole('button', { name: 'Manage ' + user }).click();
  await page.locator('#user-detail h2', { hasText: user }).waitFor();
  await shot(page, 'users');

  // Aliases
  await go(page, '#/aliases', 'view-aliases');
  await page.fill('#alias-source', 'sales@' + domain);
  await page.fill('#alias-targets', user);
  await page.click('#alias-form button[type=submit]');
  await page.locator('#aliases-table td', { hasText: 'sales@' + domain }).first().waitFor();
  await page.fill('#alias-source', 'x@' + domain);
  await page.fill('#alias-targets', xss);
  await page.click('#alias-form button[type=submit]');
  assert.match(await formError(page, '#alias-form'), /invalid alias target '<img src=x/);
  await shot(page, 'aliases');

  // Markup in names is shown as text (API tokens accept any name).
  await go(page, '#/tokens', 'view-tokens');
  await page.fill('#token-name', xss);
  await page.click('#token-form button[type=submit]');
  await page.locator('#token-new').waitFor({ state: 'visible' });
  assert.match(await page.inputValue('#token-value'), /^roost_[0-9a-f]{64}$/);
  const cell = page.locator('#tokens-table td').filter({ hasText: 'window.__xss=2' }).first();
  await cell.waitFor();
  assert.equal(await cell.textContent(), xss);
  assert.equal(await page.locator('#tokens-table img, #tokens-table script').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot(page, 'tokens');
  // Revoking asks first.
  await page.fill('#token-name', 'to revoke');
  await page.click('#token-form button[type=submit]');
  const revoke = page.getByRole('button', { name: 'Revoke token to revoke' });
  await revoke.waitFor();
  await revoke.click();
  await revoke.waitFor({ state: 'detached' });
  assert.ok(dialogs.some((m) => m.includes('Revoke the token "to revoke"')));

  await go(page, '#/dns?domain=' + domain, 'view-dns');
  await page.waitForFunction((d) => document.querySelector('#dns-zone').value.includes(d + '. 3600 IN MX'), domain);
  // Eleven records without a DKIM key: two pages of ten.
  await page.locator('#dns-table .pager span', { hasText: 'Page 1 of 2' }).waitFor();
  await page.click('#dns-table .pager button:has-text("Next page")');
  await page.locator('#dns-table .pager span', { hasText: 'Page 2 of 2' }).waitFor();
  assert.equal(await page.locator('#dns-table tbody tr').count(), 1);
  // DKIM: no key yet (no record, a comment in the zone); generating one publishes the real key in the helper.
  assert.match(await page.inputValue('#dns-zone'), /; DKIM: no signing key/);
  assert.doesNotMatch(await page.inputValue('#dns-zone'), /_domainkey/);
  await page.selectOption('#dkim-algorithm', 'rsa');
  await page.click('#dkim-generate');
  await page.locator('#dkim-new').waitFor({ state: 'visible' });
  const record = await page.inputValue('#dkim-record');
  assert.match(record, new RegExp('^roost\\._domainkey\\.' + domain.replace('.', '\\.') + '\\. 3600 IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]'));
  await page.waitForFunction((r) => document.querySelector('#dns-zone').value.includes(r), record);
  assert.doesNotMatch(await page.inputValue('#dns-zone'), /; DKIM: no signing key/);
  await page.getByRole('button', { name: 'Remove DKIM key roost' }).waitFor();
  // A second key is a rotation: asked first; dismissing makes none.
  page.__acceptDialogs = false;
  const before = dialogs.length;
  await page.click('#dkim-generate');
  await page.waitForTimeout(200);
  assert.ok(dialogs.slice(before).some((m) => m.includes('Generate another DKIM key for ' + domain)));
  assert.equal(await page.locator('#dkim-keys tbody tr').count(), 1);
  page.__acceptDialogs = true;
  await shot(page, 'dns');

  // Phone width: nothing overflows the viewport except inside the scrollable table wrappers.
  await page.setViewportSize({ width: 375, height: 760 });
  await go(page, '#/users', 'view-users');
  await page.locator('#users-table td', { hasText: user }).first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, 'page wider than a phone screen by ' + overflow + 'px');
  await shot(page, 'users-phone');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
}

// After an SMTP delivery, a refused recipient and a queued message: the dashboard's counts, chart, services
// and delivery log show them; the log page searches by address and status.
async function dashboardPhase(page) {
  await login(page, env('ADMIN_USER'), env('ADMIN_PW'));
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await page.locator('#deliveries-table td', { hasText: env('NEW_USER') }).first().waitFor();
  const stat = async (name) => Number(await page.locator('#stats div', { hasText: name }).locator('dd').textContent());
  assert.ok(await stat('Received today') >= 2, 'received today');
  assert.ok(await stat('Rejected today') >= 1, 'rejected today');
  // The chart: bars of each kind in the last 24 hours, the numbers in words for screen readers.
  for (const kind of ['received', 'rejected']) assert.ok(await page.locator('#traffic-chart rect.' + kind).count() >= 1, kind);
  assert.match(await page.getAttribute('#traffic-chart svg', 'aria-label'), /\d+ received, \d+ sent, [1-9]\d* rejected in the last 24 hours/);
  await page.click('#traffic-week');
  await page.locator('#traffic-summary', { hasText: 'the last 7 days' }).waitFor();
  assert.equal(await page.getAttribute('#traffic-week', 'aria-pressed'), 'true');
  await page.click('#traffic-day');
  await page.locator('#traffic-summary', { hasText: 'the last 24 hours' }).waitFor();
  // Services: the daemons this test started run; POP3 does not.
  const state = (name) => page.locator('#daemons-table tr', { hasText: name }).locator('td').nth(1);
  for (const name of ['roost-smtpd', 'roost-imapd', 'roost-admin']) assert.equal(await state(name).textContent(), 'running');
  assert.equal(await state('roost-pop3d').textContent(), 'stopped');
  await shot(page, 'dashboard');

  // The delivery log: search by address, then by status.
  await go(page, '#/log', 'view-log');
  await page.fill('#log-q', 'nobody@' + env('NEW_DOMAIN'));
  await page.click('#log-form button[type=submit]');
  const row = page.locator('#log-table tbody tr', { hasText: 'nobody@' + env('NEW_DOMAIN') });
  await row.waitFor();
  assert.equal(await page.locator('#log-table tbody tr').count(), 1);
  assert.match(await row.textContent(), /rejected.*550 5\.1\.1/);
  await page.fill('#log-q', '');
  await page.selectOption('#log-status', 'queued');
  await page.click('#log-form button[type=submit]');
  await page.locator('#log-table tbody tr', { hasText: 'bob@remote.test' }).waitFor();
  for (const cell of await page.locator('#log-table tbody tr td:nth-child(2)').allTextContents()) assert.equal(cell, 'queued');
  await page.selectOption('#log-status', '');
  await page.click('#log-form button[type=submit]');
  await page.locator('#log-table tbody tr', { hasText: 'hello from the panel test' }).first().waitFor();
  await shot(page, 'log');
}

// The message queued for bob@remote.test (its first attempt failed: no DNS): details, retry, delete.
async function queuePhase(page) {
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await (page.__acceptDialogs ? d.accept() : d.dismiss()); });
  await login(page, env('ADMIN_USER'), env('ADMIN_PW'));
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await go(page, '#/queue', 'view-queue');
  const id = env('QUEUE_ID');
  const row = page.locator('#queue-table tbody tr', { hasText: 'bob@remote.test' });
  await row.waitFor();
  assert.match(await row.textContent(), /report <draft>/);
  await page.getByRole('button', { name: 'Details of queued message ' + id }).click();
  await page.locator('#queue-detail h2', { hasText: 'Queued message ' + id }).waitFor();
  const head = await page.locator('#queue-detail pre.headers').textContent();
  assert.match(head, /^Received: /m);
  assert.match(head, /^Subject: report <draft>$/m);
  assert.match(await page.locator('#queue-detail-recipients').textContent(), /bob@remote\.test.*deferred/);
  await shot(page, 'queue');

  // Retry asks first: dismissed, nothing happens; accepted, the entry is due now.
  const retry = page.getByRole('button', { name: 'Retry queued message ' + id });
  page.__acceptDialogs = false;
  await retry.click();
  await page.waitForTimeout(200);
  assert.ok(dialogs.some((m) => m.includes('Try to deliver queued message ' + id + ' now?')));
  assert.equal(await page.locator('#status').textContent(), '');
  page.__acceptDialogs = true;
  await retry.click();
  await page.locator('#status', { hasText: 'Queued message ' + id + ' will be retried now.' }).waitFor();
  // Delete: dismissed keeps it; accepted removes it.
  const del = page.getByRole('button', { name: 'Delete queued message ' + id });
  page.__acceptDialogs = false;
  await del.click();
  await page.waitForTimeout(200);
  assert.ok(dialogs.some((m) => m.includes('Delete queued message ' + id + '?')));
  assert.equal(await del.count(), 1);
  page.__acceptDialogs = true;
  await del.click();
  await del.waitFor({ state: 'detached' });
  await page.locator('#status', { hasText: 'Deleted queued message ' + id + '.' }).waitFor();
  assert.equal(await page.locator('#queue-detail').isVisible(), false);
  await page.locator('#queue-table td', { hasText: 'Nothing here yet.' }).waitFor();
  assert.equal(await page.locator('#queue-flush').isDisabled(), true);
}

async function userPhase(page) {
  const user = env('NEW_USER'), pw = env('NEW_USER_PW'), pw2 = env('NEW_USER_PW2');
  // Keyboard only: the login form works with typing, Tab and Enter.
  await page.goto(URL + '/');
  await page.locator('#view-login').waitFor({ state: 'visible' });
  await page.focus('#login-user');
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await page.keyboard.type(pw);
  await page.keyboard.press('Enter');
  await page.locator('#view-account').waitFor({ state: 'visible' });
  // Self-service sees quota use and the message delivered over SMTP.
  const inbox = page.locator('#account-mailboxes tr', { hasText: 'INBOX' });
  await inbox.waitFor();
  assert.equal((await inbox.locator('td').nth(1).textContent()).trim(), '1');
  assert.match(await page.locator('#account-info').textContent(), /50\.0 MiB/);
  assert.match(await page.getAttribute('#account-setup a[href^="/apple/"]', 'href'), /emailaddress=alice%40panel\.test/);
  assert.equal(await page.locator('#nav a[href="#/domains"]').isVisible(), false, 'no admin pages for users');
  await shot(page, 'account');

  await page.fill('#pw-current', pw);
  await page.fill('#pw-new', pw2);
  await page.fill('#pw-repeat', pw2 + 'x');
  await page.click('#password-form button[type=submit]');
  assert.match(await formError(page, '#password-form'), /do not match/);
  await page.fill('#pw-current', 'not my password');
  await page.fill('#pw-repeat', pw2);
  await page.click('#password-form button[type=submit]');
  await page.locator('#password-form .error', { hasText: 'current password is wrong' }).waitFor();
  await page.fill('#pw-current', pw);
  await page.fill('#pw-new', pw2);
  await page.fill('#pw-repeat', pw2);
  await page.click('#password-form button[type=submit]');
  await page.locator('#status', { hasText: 'Your password was changed.' }).waitFor();
  await page.click('#logout');
  await page.locator('#view-login').waitFor({ state: 'visible' });
  await login(page, user, pw);
  assert.match(await formError(page, '#login-form'), /wrong address or password/);
  await login(page, user, pw2);
  await page.locator('#view-account').waitFor({ state: 'visible' });
}

(async () => {
  const phase = process.argv[2];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: LAUNCH_ARGS });
  let failed = false;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text()); });
    page.setDefaultTimeout(10000);
    if (phase === 'admin') await adminPhase(page);
    else if (phase === 'user') await userPhase(page);
    else if (phase === 'dashboard') await dashboardPhase(page);
    else if (phase === 'queue') await queuePhase(page);
    else throw new Error('phase must be admin, dashboard, queue or user');
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
    console.log('browser phase ' + phase + ': ok');
  } catch (e) {
    failed = true;
    console.error(e && e.stack ? e.stack : e);
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
