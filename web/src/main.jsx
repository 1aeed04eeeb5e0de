// GraphiQL for the 校企通 API: built from the npm registry into dist/ (npm run build) and served
// by the server at /graphql outside production — never from a CDN. Signing in here is signing in
// everywhere on the page: the token from signInWithCode / signInWithPassword / refreshSession is
// kept and sent with every request and in every subscription's connection_init (a token in the
// headers editor takes precedence).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import 'graphiql/graphiql.css';

const TOKEN = 'xqt.accessToken';

function authorization(headers) {
  const given = headers && (headers.Authorization || headers.authorization);
  if (given) return given;
  const stored = localStorage.getItem(TOKEN);
  return stored ? `Bearer ${stored}` : undefined;
}

function remember(result) {
  const data = result && result.data;
  if (!data) return;
  const session = data.signInWithCode || data.signInWithPassword || data.refreshSession;
  if (session && session.accessToken) localStorage.setItem(TOKEN, session.accessToken);
  if (data.signOut === true || data.signOutEverywhere === true) localStorage.removeItem(TOKEN);
}

// Read from the query itself: GraphiQL's `documentAST` can lag the editor by a keystroke.
function isSubscription(params) {
  let document;
  try {
    document = parse(params.query || '');
  } catch {
    return false;
  }
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  const chosen = operations.find((d) => !params.operationName || (d.name && d.name.value === params.operationName));
  return Boolean(chosen && chosen.operation === 'subscription');
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;

async function* subscribe(params, auth) {
  const client = createClient({
    url: wsUrl,
    connectionParams: () => (auth ? { authorization: auth } : {}),
    retryAttempts: 0,
  });
  try {
    yield* client.iterate({ query: params.query, variables: params.variables, operationName: params.operationName });
  } finally {
    await client.dispose();
  }
}

async function fetcher(params, opts) {
  const auth = authorization(opts && opts.headers);
  if (isSubscription(params)) return subscribe(params, auth);
  const headers = {
    ...((opts && opts.headers) || {}),
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  };
  if (auth) headers.authorization = auth;
  const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify(params) });
  const result = await res.json();
  remember(result);
  return result;
}

const welcome = `# 校企通 API
#
# Sign in (the code is in the server log in development, or run
# \`xqt sms last --phone 13800000005\`; \`xqt seed-demo\` creates that person):
#
#   mutation { requestSignInCode(phone: "13800000005") }
#   mutation { signInWithCode(input: { phone: "13800000005", code: "000000" }) { accessToken } }
#
# This page keeps the token: every later request and subscription is signed in.

{
  me {
    id
    nickname
    verified
  }
}
`;

createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery: welcome, shouldPersistHeaders: false }),
);
