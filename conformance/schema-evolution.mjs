// Schema evolution, checked with graphql-inspector: the committed SDL against the previous
// commit's (or the revision given). A breaking change fails unless CHANGELOG.md's lines added
// since then name it (its coordinate, e.g. `Conversation.members`); a field or enum value may be
// removed only after it was `@deprecated` in the previous SDL.
//
//   node schema-evolution.mjs [revision, default HEAD~1]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

const base = process.argv[2] ?? 'HEAD~1';
const git = (...args) => execFileSync('git', args, { encoding: 'utf8', cwd: '..', stdio: ['ignore', 'pipe', 'pipe'] });

let previous;
try {
  previous = git('show', `${base}:schema/schema.graphql`);
} catch (e) {
  console.error(`schema evolution: no schema/schema.graphql at ${base} to compare with (${String(e.stderr ?? e).trim()})`);
  process.exit(1);
}
const before = buildSchema(previous);
const after = buildSchema(readFileSync('../schema/schema.graphql', 'utf8'));
const changes = await diff(before, after);
const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
const recorded = git('diff', base, '--', 'CHANGELOG.md')
  .split('\n')
  .filter((l) => l.startsWith('+') && !l.startsWith('+++'))
  .join('\n');

const deprecated = (path) => {
  const [typeName, member] = (path ?? '').split('.');
  const type = before.getType(typeName);
  if (!type || !member) return false;
  if (typeof type.getFields === 'function') return Boolean(type.getFields()[member]?.deprecationReason);
  if (typeof type.getValue === 'function') return Boolean(type.getValue(member)?.deprecationReason);
  return false;
};

const problems = [];
for (const change of breaking) {
  const path = change.path ?? '';
  if (['FIELD_REMOVED', 'ENUM_VALUE_REMOVED', 'INPUT_FIELD_REMOVED'].includes(change.type) && !deprecated(path)) {
    problems.push(`${change.message}: removed without being @deprecated first`);
  } else if (!path || !recorded.includes(path)) {
    problems.push(`${change.message}: breaking, and CHANGELOG.md does not record \`${path}\``);
  }
}
console.log(`schema evolution against ${base}: ${changes.length} changes, ${breaking.length} breaking, ${breaking.length - problems.length} recorded`);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
