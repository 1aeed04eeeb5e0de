// The graphql-http audit (the GraphQL over HTTP spec's own conformance suite) against a running
// server: every MUST and every SHOULD passes, or this exits 1 naming what failed. MAY items are
// printed, not required.
//
//   node http-audit.mjs http://127.0.0.1:8080/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node http-audit.mjs <url of /graphql>');
  process.exit(2);
}

const counts = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
const failed = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  counts[level][1] += 1;
  if (result.status === 'ok') {
    counts[level][0] += 1;
    continue;
  }
  const line = `${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason}`;
  if (level === 'MAY') {
    console.log(`(may) ${line}`);
  } else {
    let body = '';
    try {
      body = await result.response.text();
    } catch {
      body = '(body already read)';
    }
    failed.push(`${line}\n    status ${result.response.status} ${result.response.headers.get('content-type')}: ${body.slice(0, 300)}`);
  }
}
for (const [level, [ok, all]] of Object.entries(counts)) {
  console.log(`graphql-http audit ${level}: ${ok}/${all}`);
}
if (failed.length) {
  console.error(failed.join('\n'));
  process.exit(1);
}
