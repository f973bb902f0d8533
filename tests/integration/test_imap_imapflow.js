// roost-imapd against the imapflow client (npm), run with `node --test` by test_imap_imapflow.py, which starts
// the daemons and passes ports and accounts in the environment:
//   ROOST_IMAP_PORT, ROOST_IMAPS_PORT, ROOST_SMTP_PORT, ROOST_PASSWORD, ROOST_USERS (comma-separated, one per
//   test), ROOST_QUOTA_USER (an account with a 1 MiB quota).
// imapflow enables IMAP4rev2, CONDSTORE and UTF8=ACCEPT by itself (and QRESYNC when asked), so this also checks
// Roost in IMAP4rev2 mode: ESEARCH answers, no \Recent, UTF-8 mailbox names.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { ImapFlow } = require('imapflow');
const nodemailer = require('nodemailer');

const HOST = '127.0.0.1';
const IMAP_PORT = Number(process.env.ROOST_IMAP_PORT);
const IMAPS_PORT = Number(process.env.ROOST_IMAPS_PORT);
const SMTP_PORT = Number(process.env.ROOST_SMTP_PORT);
const PASSWORD = process.env.ROOST_PASSWORD;
const USERS = (process.env.ROOST_USERS || '').split(',');
const QUOTA_USER = process.env.ROOST_QUOTA_USER;
let nextUser = 0;

function takeUser() {
    const user = USERS[nextUser++];
    assert.ok(user, 'not enough accounts in ROOST_USERS');
    return user;
}

async function connect(user, options = {}) {
    const client = new ImapFlow({
        host: HOST,
        port: options.implicitTls ? IMAPS_PORT : IMAP_PORT,
        secure: !!options.implicitTls,
        doSTARTTLS: options.implicitTls ? undefined : true,
        tls: { rejectUnauthorized: false }, // Roost's self-signed certificate
        auth: { user, pass: PASSWORD },
        logger: false,
        qresync: !!options.qresync,
        clientInfo: { name: 'roost-integration-test' }
    });
    await client.connect();
    return client;
}

function message(subject, body = 'Hello from imapflow.\r\n', extra = '') {
    return Buffer.from(
        `From: Sender <sender@outside.test>\r\nTo: someone@example.test\r\nSubject: ${subject}\r\n` +
            `Date: Wed, 10 Jun 2020 08:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@outside.test>\r\n` +
            `${extra}\r\n${body}`
    );
}

function waitFor(emitter, event, predicate = () => true, ms = 5000) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            emitter.off(event, handler);
            reject(new Error(`no ${event} event within ${ms} ms`));
        }, ms);
        function handler(data) {
            if (!predicate(data)) return;
            clearTimeout(timer);
            emitter.off(event, handler);
            resolve(data);
        }
        emitter.on(event, handler);
    });
}

test('STARTTLS, implicit TLS, ID and the extensions imapflow enables', async () => {
    const user = takeUser();
    const client = await connect(user);
    try {
        assert.equal(client.secureConnection, true); // upgraded by STARTTLS
        for (const cap of ['CONDSTORE', 'UTF8=ACCEPT', 'IMAP4REV2']) {
            assert.ok([...client.enabled].map(c => c.toUpperCase()).includes(cap), `${cap} not enabled`);
        }
        assert.equal(client.serverInfo.name, 'Roost');
        const ns = client.namespace;
        assert.equal(ns.delimiter, '/');
        assert.equal(ns.prefix, '');
    } finally {
        await client.logout();
    }
    const tls = await connect(user, { implicitTls: true });
    try {
        assert.equal(tls.secureConnection, true);
        const status = await tls.status('INBOX', { messages: true });
        assert.equal(status.messages, 0);
    } finally {
        await tls.logout();
    }
});

test('LIST with SPECIAL-USE and LIST-STATUS, UTF-8 mailbox names, rename, delete', async () => {
    const client = await connect(takeUser());
    try {
        await client.append('Sent', message('sent one'), ['\\Seen']);
        const list = await client.list({ statusQuery: { messages: true, unseen: true, uidNext: true, highestModseq: true } });
        const byUse = Object.fromEntries(list.filter(m => m.specialUse).map(m => [m.specialUse, m.path]));
        assert.deepEqual(byUse, { '\\Inbox': 'INBOX', '\\Archive': 'Archive', '\\Drafts': 'Drafts', '\\Junk': 'Junk',
                                  '\\Sent': 'Sent', '\\Trash': 'Trash' });
        const sent = list.find(m => m.path === 'Sent');
        assert.equal(sent.status.messages, 1);
        assert.equal(sent.status.unseen, 0);
        assert.equal(sent.status.uidNext, 2);
        assert.ok(BigInt(sent.status.highestModseq) > 0n);

        const created = await client.mailboxCreate(['Entwürfe', '日本']);
        assert.equal(created.path, 'Entwürfe/日本');
        assert.equal(created.created, true);
        let paths = (await client.list()).map(m => m.path);
        assert.ok(paths.includes('Entwürfe') && paths.includes('Entwürfe/日本'), paths.join(','));
        await client.append('Entwürfe/日本', message('in a unicode folder'));
        const renamed = await client.mailboxRename('Entwürfe', 'Brouillons');
        assert.equal(renamed.newPath, 'Brouillons');
        const status = await client.status('Brouillons/日本', { messages: true });
        assert.equal(status.messages, 1);
        await client.mailboxDelete('Brouillons/日本');
        await client.mailboxDelete('Brouillons');
        paths = (await client.list()).map(m => m.path);
        assert.ok(!paths.some(p => p.startsWith('Brouillons') || p.startsWith('Entwürfe')), paths.join(','));
        await assert.rejects(client.mailboxDelete('INBOX'));
    } finally {
        await client.logout();
    }
});

test('APPEND with APPENDUID, FETCH of envelope, structure, parts and source', async () => {
    const client = await connect(takeUser());
    try {
        const raw = Buffer.from(
            'From: "Ann Example" <ann@outside.test>\r\nTo: bob@example.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n' +
                'Date: Thu, 11 Jun 2020 09:30:00 +0200\r\nMessage-ID: <parts@outside.test>\r\nMIME-Version: 1.0\r\n' +
                'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
                'plain text part\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html part</p>\r\n--b1--\r\n'
        );
        const appended = await client.append('INBOX', raw, ['\\Flagged', '$Important'], new Date('2021-02-03T04:05:06Z'));
        assert.equal(appended.uid, 1);
        assert.ok(appended.uidValidity > 0n);
        const lock = await client.getMailboxLock('INBOX');
        try {
            const msg = await client.fetchOne(String(appended.uid), {
                uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true, size: true,
                source: true, bodyParts: ['1', '2'], headers: ['subject']
            }, { uid: true });
            assert.equal(msg.uid, 1);
            assert.deepEqual([...msg.flags].sort(), ['$Important', '\\Flagged']); // no \Recent in IMAP4rev2
            assert.equal(msg.size, raw.length);
            assert.equal(msg.internalDate.toISOString(), '2021-02-03T04:05:06.000Z');
            assert.equal(msg.envelope.subject, 'Grüße');
            assert.deepEqual(msg.envelope.from, [{ name: 'Ann Example', address: 'ann@outside.test' }]);
            assert.equal(msg.envelope.messageId, '<parts@outside.test>');
            assert.equal(msg.bodyStructure.type, 'multipart/alternative');
            assert.deepEqual(msg.bodyStructure.childNodes.map(n => n.type), ['text/plain', 'text/html']);
            assert.equal(msg.bodyParts.get('1').toString(), 'plain text part');
            assert.equal(msg.bodyParts.get('2').toString(), '<p>html part</p>');
            assert.equal(msg.headers.toString().trim(), 'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=');
            assert.ok(msg.source.equals(raw));
            // Nothing above was a non-peek fetch: \Seen is still unset. A download of the whole message sets it.
            assert.ok(!(await client.fetchOne('1', { flags: true }, { uid: true })).flags.has('\\Seen'));
            const { content } = await client.download('1', '2', { uid: true });
            let text = '';
            for await (const chunk of content) text += chunk;
            assert.equal(text, '<p>html part</p>');
        } finally {
            lock.release();
        }
    } finally {
        await client.logout();
    }
});

test('CONDSTORE: MODSEQ, CHANGEDSINCE and UNCHANGEDSINCE', async () => {
    const client = await connect(takeUser());
    try {
        for (let i = 0; i < 3; i++) await client.append('INBOX', message(`cs ${i}`));
        const mailbox = await client.mailboxOpen('INBOX');
        const start = BigInt(mailbox.highestModseq);
        assert.ok(await client.messageFlagsAdd('2', ['\\Answered'], { uid: true, unchangedSince: start }));
        const changed = [];
        for await (const msg of client.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: start })) {
            changed.push([msg.uid, [...msg.flags], BigInt(msg.modseq) > start]);
        }
        assert.deepEqual(changed, [[2, ['\\Answered'], true]]);
        // A conditional STORE against an old modseq fails for that message (MODIFIED).
        const result = await client.messageFlagsAdd('2', ['\\Flagged'], { uid: true, unchangedSince: start });
        const after = await client.fetchOne('2', { flags: true }, { uid: true });
        assert.ok(!after.flags.has('\\Flagged'), `flags ${[...after.flags]} (store result ${result})`);
        const status = await client.status('INBOX', { highestModseq: true });
        assert.ok(BigInt(status.highestModseq) > start);
    } finally {
        await client.logout();
    }
});

test('QRESYNC: VANISHED (EARLIER) and flag changes on reselect', async () => {
    const user = takeUser();
    const client = await connect(user, { qresync: true });
    const other = await connect(user);
    try {
        assert.ok([...client.enabled].map(c => c.toUpperCase()).includes('QRESYNC'));
        for (let i = 0; i < 4; i++) await client.append('INBOX', message(`qr ${i}`));
        const first = await client.mailboxOpen('INBOX');
        const known = BigInt(first.highestModseq);
        await client.mailboxClose();

        await other.mailboxOpen('INBOX');
        await other.messageDelete('2,3', { uid: true });
        await other.messageFlagsAdd('4', ['\\Seen'], { uid: true });

        const expunged = [];
        const flagged = [];
        client.on('expunge', e => expunged.push(e));
        client.on('flags', f => flagged.push(f));
        const reopened = await client.mailboxOpen('INBOX', { changedSince: known, uidValidity: first.uidValidity });
        assert.equal(reopened.exists, 2);
        assert.ok(expunged.every(e => e.vanished === true && e.earlier === true), JSON.stringify(expunged, (k, v) =>
            typeof v === 'bigint' ? v.toString() : v));
        assert.deepEqual(expunged.map(e => e.uid).sort(), [2, 3]);
        assert.deepEqual(flagged.map(f => [f.uid, [...f.flags]]), [[4, ['\\Seen']]]);

        // UID FETCH ... (CHANGEDSINCE ... VANISHED)
        expunged.length = 0;
        const fetched = [];
        for await (const msg of client.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: known })) {
            fetched.push(msg.uid);
        }
        assert.deepEqual(fetched, [4]);
        assert.deepEqual(expunged.map(e => e.uid).sort(), [2, 3]);
    } finally {
        await other.logout();
        await client.logout();
    }
});

test('MOVE and COPY with COPYUID; EXPUNGE reported to another session', async () => {
    const user = takeUser();
    const client = await connect(user);
    const watcher = await connect(user);
    try {
        for (let i = 0; i < 3; i++) await client.append('INBOX', message(`mv ${i}`));
        await client.mailboxOpen('INBOX');
        await watcher.mailboxOpen('INBOX');
        const copied = await client.messageCopy('1', 'Archive', { uid: true });
        assert.deepEqual([...copied.uidMap], [[1, 1]]);
        const expunges = [];
        watcher.on('expunge', e => expunges.push(e));
        const moved = await client.messageMove('2:3', 'Archive', { uid: true });
        assert.equal(moved.destination, 'Archive');
        assert.deepEqual([...moved.uidMap], [[2, 2], [3, 3]]);
        assert.equal(client.mailbox.exists, 1);
        await watcher.noop();
        assert.equal(expunges.length, 2);
        assert.equal(watcher.mailbox.exists, 1);
        const archive = await client.status('Archive', { messages: true, uidNext: true });
        assert.deepEqual([archive.messages, archive.uidNext], [3, 4]);
    } finally {
        await watcher.logout();
        await client.logout();
    }
});

test('SEARCH and ESEARCH (IMAP4rev2 answers every SEARCH with ESEARCH)', async () => {
    const client = await connect(takeUser());
    try {
        await client.append('INBOX', message('alpha', 'the zebra word is xylophone\r\n'), ['\\Seen']);
        await client.append('INBOX', message('beta', 'nothing here\r\n', 'X-Project: roost\r\n'), ['\\Flagged']);
        await client.append('INBOX', message('gamma', 'another xylophone\r\n'), [], new Date('2019-01-01T00:00:00Z'));
        await client.mailboxOpen('INBOX');
        assert.deepEqual(await client.search({ seen: false }, { uid: true }), [2, 3]);
        assert.deepEqual(await client.search({ body: 'xylophone' }, { uid: true }), [1, 3]);
        assert.deepEqual(await client.search({ header: { 'x-project': 'roost' } }, { uid: true }), [2]);
        assert.deepEqual(await client.search({ before: new Date('2020-01-01T00:00:00Z') }, { uid: true }), [3]);
        assert.deepEqual(await client.search({ or: [{ flagged: true }, { subject: 'alpha' }] }, { uid: true }), [1, 2]);
        assert.deepEqual(await client.search({ uid: '2:*', not: { flagged: true } }, { uid: true }), [3]);
        const esearch = await client.search({ all: true }, { uid: true, returnOptions: ['MIN', 'MAX', 'COUNT'] });
        assert.equal(esearch.min, 1);
        assert.equal(esearch.max, 3);
        assert.equal(esearch.count, 3);
    } finally {
        await client.logout();
    }
});

test('IDLE: another session changes flags, expunges and appends', async () => {
    const user = takeUser();
    const idler = await connect(user);
    const actor = await connect(user);
    try {
        await actor.append('INBOX', message('idle 1'));
        await actor.append('INBOX', message('idle 2'));
        await idler.mailboxOpen('INBOX');
        await actor.mailboxOpen('INBOX');
        const idling = idler.idle();
        await new Promise(r => setTimeout(r, 100));

        let event = waitFor(idler, 'flags', f => f.uid === 1 || f.seq === 1);
        await actor.messageFlagsAdd('1', ['\\Seen'], { uid: true });
        assert.ok((await event).flags.has('\\Seen'));

        event = waitFor(idler, 'expunge');
        await actor.messageDelete('1', { uid: true });
        assert.equal((await event).seq, 1);

        event = waitFor(idler, 'exists', e => e.count === 2);
        await actor.append('INBOX', message('idle 3'));
        await event;
        await idler.noop(); // ends IDLE (DONE) and runs a command
        await idling;
        assert.equal(idler.mailbox.exists, 2);
    } finally {
        await actor.logout();
        await idler.logout();
    }
});

test('IDLE push of a message delivered over SMTP', async () => {
    const user = takeUser();
    const client = await connect(user);
    try {
        await client.mailboxOpen('INBOX');
        const idling = client.idle();
        await new Promise(r => setTimeout(r, 100));
        const exists = waitFor(client, 'exists', e => e.count === 1);
        const transport = nodemailer.createTransport({ host: HOST, port: SMTP_PORT, secure: false, ignoreTLS: true });
        const subject = `delivered ${Date.now()}`;
        const started = Date.now();
        await transport.sendMail({ from: 'friend@outside.test', to: user, subject, text: 'pushed over IDLE' });
        await exists;
        assert.ok(Date.now() - started < 5000);
        await client.noop();
        await idling;
        const msg = await client.fetchOne('*', { envelope: true, source: true });
        assert.equal(msg.envelope.subject, subject);
        assert.match(msg.source.toString(), /pushed over IDLE/);
        assert.match(msg.source.toString(), /^Received: from .*?\sby mx\.example\.test \(Roost\)/ms); // trace header
    } finally {
        await client.logout();
    }
});

test('GETQUOTAROOT and OVERQUOTA on APPEND', async () => {
    const client = await connect(QUOTA_USER); // 1 MiB quota
    try {
        const quota = await client.getQuota('INBOX');
        assert.equal(quota.path, 'INBOX');
        assert.equal(quota.storage.limit, 1024 * 1024);
        assert.equal(quota.storage.usage, 0);
        await client.append('INBOX', message('small'));
        const big = message('too big', 'y'.repeat(1100 * 1024) + '\r\n');
        await assert.rejects(client.append('INBOX', big),
            err => /OVERQUOTA/.test(`${err.serverResponseCode} ${err.response} ${err.message}`));
        const after = await client.getQuota('INBOX');
        assert.ok(after.storage.usage > 0 && after.storage.usage <= 4096, JSON.stringify(after));
        const status = await client.status('INBOX', { messages: true });
        assert.equal(status.messages, 1);
    } finally {
        await client.logout();
    }
});
