// GraphiQL in headless Chromium, as a developer uses it: open /graphql on a server seeded with
// `xqt seed-demo`, sign in on the page (code from `xqt sms last`), run a query and see the
// result, start a subscription and see an event arrive. Every request the page makes must go to
// this server (no CDN). Exits 1 on any deviation.
//
//   CONFORMANCE_XQT=target/debug/xqt XQT_DATA_DIR=… node browser-test.mjs http://127.0.0.1:8080
import { execFileSync } from 'node:child_process';
import puppeteer from 'puppeteer-core';

const base = process.argv[2];
const bin = process.env.CONFORMANCE_XQT;
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!base || !bin) {
  console.error('usage: CONFORMANCE_XQT=<xqt binary> node browser-test.mjs <server base url>');
  process.exit(2);
}

function fail(why) {
  console.error(`GraphiQL browser test FAILED: ${why}`);
  process.exit(1);
}

const smsCode = (phone) => {
  const out = execFileSync(bin, ['sms', 'last', '--phone', phone], { encoding: 'utf8', env: { ...process.env, XQT_LOG_FILTER: 'error' } });
  return /^code: (\d{6})$/m.exec(out)?.[1] ?? fail(`no code in: ${out}`);
};

async function gql(query, variables, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (body.errors) fail(`${query.slice(0, 60)}… answered ${JSON.stringify(body.errors)}`);
  return body.data;
}

const browser = await puppeteer.launch({ executablePath: chromium, args: ['--no-sandbox', '--headless=new'] });
try {
  const page = await browser.newPage();
  const elsewhere = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${base}/graphql`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 15_000 }).catch(async () =>
    fail(`GraphiQL did not render: ${consoleErrors.join('; ') || (await page.content()).slice(0, 300)}`),
  );

  const run = async (query) => {
    await page.evaluate((q) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q), query);
    await page.click('.graphiql-execute-button');
  };
  const result = () => page.evaluate(() => document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue() ?? '');
  const resultContains = async (text, what) => {
    await page
      .waitForFunction((t) => (document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue() ?? '').includes(t), { timeout: 15_000 }, text)
      .catch(async () => fail(`${what}: the result pane shows ${await result()}`));
  };

  // Sign in on the page: the token it receives is kept for what follows.
  const phone = '13800000006';
  await run(`mutation { requestSignInCode(phone: "${phone}") }`);
  await resultContains('"requestSignInCode": true', 'requesting a code');
  await run(`mutation { signInWithCode(input: { phone: "${phone}", code: "${smsCode(phone)}" }) { accessToken } }`);
  await resultContains('"accessToken"', 'signing in');

  // A query, signed in.
  await run('{ me { nickname verified } }');
  await resultContains('"nickname": "小敏"', 'the signed-in query');

  // A subscription over the page's WebSocket, the token in connection_init; then 李娜 writes.
  await run('subscription { inboxEvents { conversationEvent { kind message { text } } } }');
  const other = '13800000002';
  await gql('mutation($p: String!) { requestSignInCode(phone: $p) }', { p: other });
  const signedIn = await gql('mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken } }', { i: { phone: other, code: smsCode(other) } });
  const token = signedIn.signInWithCode.accessToken;
  // 赵敏's id, from the page's own signed-in session.
  const browserMe = await page.evaluate(async () => {
    const res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${localStorage.getItem('xqt.accessToken')}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    return (await res.json()).data.me.id;
  });
  // Give the socket a moment to acknowledge and register the subscription, then write.
  await new Promise((r) => setTimeout(r, 1_000));
  const opened = await gql('mutation($u: ID!) { openDirectConversation(userId: $u) { id } }', { u: browserMe }, token);
  const text = '浏览器里的订阅收到了这条消息';
  await gql(
    'mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }',
    { i: { conversationId: opened.openDirectConversation.id, clientMessageId: `browser-${Date.now()}`, kind: 'TEXT', text } },
    token,
  );
  await resultContains(text, 'the subscription event');

  if (elsewhere.length) fail(`the page fetched from elsewhere: ${elsewhere.join(', ')}`);
  if (consoleErrors.length) fail(`page errors: ${consoleErrors.join('; ')}`);
  console.log('GraphiQL browser test ok: rendered from this server only, signed in, query and subscription results seen');
} finally {
  await browser.close();
}
