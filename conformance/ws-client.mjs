// The graphql-ws reference client against a running server seeded with `xqt seed-demo`, as a
// mobile app uses it: two demo people sign in (codes from `xqt sms last`), one subscribes to
// their direct conversation with the signed-in token in `connectionParams` (a function, so each
// connection asks for a fresh token), pings both ways are answered, the other's message arrives;
// when the access token expires the server closes with 4403, the client reconnects with a
// refreshed token, resubscribes, and the next message arrives too. Exits 1 on any deviation.
//
//   CONFORMANCE_XQT=target/debug/xqt XQT_DATA_DIR=… node ws-client.mjs http://127.0.0.1:8080
// The server must run with accounts.access_token_minutes = 1 (the expiry is waited for).
import { execFileSync } from 'node:child_process';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = process.argv[2];
const bin = process.env.CONFORMANCE_XQT;
if (!base || !bin) {
  console.error('usage: CONFORMANCE_XQT=<xqt binary> node ws-client.mjs <server base url>');
  process.exit(2);
}

function fail(why) {
  console.error(`graphql-ws conformance FAILED: ${why}`);
  process.exit(1);
}

async function gql(query, variables, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (body.errors) fail(`${query.slice(0, 60)}… answered ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function signIn(phone) {
  await gql('mutation($p: String!) { requestSignInCode(phone: $p) }', { p: phone });
  const out = execFileSync(bin, ['sms', 'last', '--phone', phone], { encoding: 'utf8' });
  const code = /^code: (\d{6})$/m.exec(out)?.[1] ?? fail(`no code in: ${out}`);
  const data = await gql(
    'mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken refreshToken } }',
    { i: { phone, code, device: { deviceId: `conformance-${phone}` } } },
  );
  return { ...data.signInWithCode };
}

async function refresh(session) {
  const data = await gql(
    'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }',
    { r: session.refreshToken },
  );
  Object.assign(session, data.refreshSession);
}

async function within(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const student = await signIn('13800000005');
const teacher = await signIn('13800000004');
const list = await gql('{ conversations(first: 20) { edges { node { id kind } } } }', {}, student.accessToken);
const direct = list.conversations.edges.map((e) => e.node).find((c) => c.kind === 'DIRECT') ?? fail('no direct conversation in the demo');

const seen = { inits: 0, serverPings: 0, pongs: 0, closes: [], connected: 0 };
let onConnected = () => {};
const client = createClient({
  url: `${base.replace(/^http/, 'ws')}/graphql/ws`,
  webSocketImpl: WebSocket,
  keepAlive: 1_000,
  retryAttempts: 3,
  retryWait: () => new Promise((r) => setTimeout(r, 300)),
  // Called for every connection: the first uses the sign-in's token, a reconnection refreshes.
  connectionParams: async () => {
    seen.inits += 1;
    if (seen.inits > 1) await refresh(student);
    return { authorization: `Bearer ${student.accessToken}` };
  },
  on: {
    connected: () => {
      seen.connected += 1;
      onConnected();
    },
    ping: (received) => received && (seen.serverPings += 1),
    pong: (received) => received && (seen.pongs += 1),
    closed: (event) => seen.closes.push(event.code),
  },
});

const events = [];
let onEvent = () => {};
const connected = (n) => new Promise((resolve) => {
  onConnected = () => seen.connected >= n && resolve();
  onConnected();
});
const nextEvent = (n) => new Promise((resolve) => {
  onEvent = () => events.length >= n && resolve();
  onEvent();
});
client.subscribe(
  { query: 'subscription($c: ID!) { conversationEvents(conversationId: $c) { kind cursor message { text } } }', variables: { c: direct.id } },
  {
    next: ({ data, errors }) => {
      if (errors) fail(`subscription errors ${JSON.stringify(errors)}`);
      if (data.conversationEvents.kind === 'MESSAGE') events.push(data.conversationEvents.message.text);
      onEvent();
    },
    error: (e) => fail(`subscription ended with ${JSON.stringify(e?.code ?? e?.message ?? e)}`),
    complete: () => {},
  },
);

const send = (n, text) =>
  gql(
    'mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }',
    { i: { conversationId: direct.id, clientMessageId: `conformance-${Date.now()}-${n}`, kind: 'TEXT', text } },
    teacher.accessToken,
  );

await within(10_000, 'connection_ack', connected(1));
// The subscription is registered once the server has processed `subscribe`; a round trip of
// pings later it has.
await within(10_000, 'a pong', new Promise((r) => { const t = setInterval(() => seen.pongs > 0 && (clearInterval(t), r()), 50); }));
await send(1, '第一条：连接建立后的消息');
await within(10_000, 'the first message', nextEvent(1));

// The access token lives a minute: the server closes with 4403 when it expires, the client
// reconnects with a refreshed one and resubscribes.
await within(120_000, 'a reconnection after the token expired', connected(2));
await refresh(teacher);
await send(2, '第二条：换新令牌重连后的消息');
await within(10_000, 'the second message', nextEvent(2));
await client.dispose();

const summary = `inits ${seen.inits}, connections ${seen.connected}, closes [${seen.closes.join(', ')}], server pings ${seen.serverPings}, pongs ${seen.pongs}, messages ${events.length}`;
if (!seen.closes.includes(4403)) fail(`no 4403 on expiry (${summary})`);
if (seen.inits !== 2) fail(`connectionParams was to be asked twice (${summary})`);
if (seen.serverPings < 1) fail(`the server never pinged (${summary})`);
if (JSON.stringify(events) !== JSON.stringify(['第一条：连接建立后的消息', '第二条：换新令牌重连后的消息'])) fail(`messages ${JSON.stringify(events)}`);
console.log(`graphql-ws conformance ok: ${summary}`);
