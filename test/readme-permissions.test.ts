import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  type GraphQLField,
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
} from 'graphql';
import { describe, expect, it } from 'vitest';

/**
 * README's "Going live" guide names the permissions behind every operation: one table for the
 * root fields of Query, Mutation and Subscription, one for the fields under Query's roots that
 * call Instagram. Both are read here against `schema/schema.graphql` as committed, so that a
 * root field added without its row (or a row left for a field gone) fails.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const schema = buildSchema(readFileSync(join(ROOT, 'schema/schema.graphql'), 'utf8'));

/** The wording of a row whose operation calls nothing at Instagram. */
const NONE = 'none (igql session only)';

/**
 * Each configuration's permission names, as Meta's App Review and permission reference spell
 * them (Instagram Login's `instagram_business_*`; Facebook Login's Instagram and Pages ones).
 */
const PERMISSIONS = {
  'Instagram Login': new Set([
    'instagram_business_basic',
    'instagram_business_manage_messages',
    'instagram_business_manage_comments',
    'instagram_business_manage_insights',
    'instagram_business_content_publish',
  ]),
  'Facebook Login': new Set([
    'instagram_basic',
    'instagram_manage_messages',
    'instagram_manage_comments',
    'instagram_manage_insights',
    'instagram_content_publish',
    'pages_show_list',
    'pages_read_engagement',
    'pages_manage_metadata',
    'pages_messaging',
  ]),
} as const;
type Column = keyof typeof PERMISSIONS;

interface Row {
  /** The names in backquotes of the first cell: `field` or `Type.field`. */
  readonly names: string[];
  readonly cells: Record<Column, string>;
  readonly text: string;
}

/** The text of a `## ` section, up to the next one. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

const cellsOf = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());

const quoted = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

/** The table of `text` whose first header cell is `first`, as rows. */
function table(text: string, first: string): Row[] {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => line.startsWith('|') && cellsOf(line)[0] === first);
  if (at < 0) throw new Error(`"Going live" has no table headed "${first}"`);
  const header = cellsOf(lines[at] ?? '').join(' | ');
  if (header !== `${first} | Instagram Login | Facebook Login`) {
    throw new Error(`"Going live": the table "${first}" has the columns ${header}`);
  }
  const rows: Row[] = [];
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith('|')) break;
    const [names = '', instagram = '', facebook = ''] = cellsOf(line);
    rows.push({
      names: quoted(names),
      cells: { 'Instagram Login': instagram, 'Facebook Login': facebook },
      text: line,
    });
  }
  return rows;
}

const guide = section(readme, 'Going live');
const rootRows = table(guide, 'root field');
const fieldRows = table(guide, 'field');

/** Every root field by name; no name is a root field of two root types. */
const rootFields = new Map<string, { type: string; field: GraphQLField<unknown, unknown> }>();
for (const type of [
  schema.getQueryType(),
  schema.getMutationType(),
  schema.getSubscriptionType(),
]) {
  for (const field of Object.values(type?.getFields() ?? {})) {
    if (rootFields.has(field.name)) throw new Error(`${field.name} is a root field twice`);
    rootFields.set(field.name, { type: type?.name ?? '', field });
  }
}

/** Every name of a column's cell is a permission of that configuration; the cell names one. */
function checkCell(where: string, column: Column, cell: string): string[] {
  const problems: string[] = [];
  if (cell.startsWith(NONE)) return problems;
  // Lower-case names in backquotes are permissions; others (`tag: HUMAN_AGENT`) are not.
  const named = quoted(cell).filter((name) => /^[a-z][a-z_]*$/.test(name));
  if (named.length === 0) problems.push(`${where}: ${column} names no permission nor "${NONE}"`);
  for (const name of named) {
    if (!PERMISSIONS[column].has(name)) problems.push(`${where}: ${column} names ${name}`);
  }
  return problems;
}

describe('README "Going live": the permission behind every operation', () => {
  it('has a row for every root field of Query, Mutation and Subscription, and one only', () => {
    const documented = rootRows.flatMap((row) => row.names);
    const missing = [...rootFields.keys()]
      .filter((name) => !documented.includes(name))
      .map((name) => `${rootFields.get(name)?.type}.${name}`);
    expect(missing, 'root fields without a row in the permission table').toEqual([]);
    const twice = documented.filter((name, i) => documented.indexOf(name) !== i);
    expect(twice, 'root fields with two rows').toEqual([]);
  });

  it('names no root field the schema does not have', () => {
    const unknown = rootRows.flatMap((row) => row.names).filter((name) => !rootFields.has(name));
    expect(unknown).toEqual([]);
    expect(rootRows.filter((row) => row.names.length === 0).map((row) => row.text)).toEqual([]);
  });

  it('names, in each row, the permissions of both configurations or says neither needs one', () => {
    const problems = [...rootRows, ...fieldRows].flatMap((row) => {
      const where = row.names.join(', ');
      const instagram = row.cells['Instagram Login'];
      const facebook = row.cells['Facebook Login'];
      const none = [instagram, facebook].filter((cell) => cell.startsWith(NONE)).length;
      return [
        ...checkCell(where, 'Instagram Login', instagram),
        ...checkCell(where, 'Facebook Login', facebook),
        ...(none === 1 ? [`${where}: one configuration needs nothing, the other something`] : []),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('says, for every send that takes a message tag, that `HUMAN_AGENT` needs the Human Agent feature', () => {
    const tagged = [...rootFields.values()]
      .filter(({ type }) => type === 'Mutation')
      .filter(({ field }) =>
        field.args.some((arg) => {
          const input = getNamedType(arg.type);
          return isInputObjectType(input) && 'tag' in input.getFields();
        }),
      )
      .map(({ field }) => field.name);
    expect(tagged.length).toBeGreaterThan(0);
    const silent = tagged.filter((name) => {
      const row = rootRows.find((r) => r.names.includes(name));
      return !row || !Object.values(row.cells).every((cell) => cell.includes('Human Agent'));
    });
    expect(silent).toEqual([]);
  });

  it('has a row for every field of Account, and names only fields that exist', () => {
    const named = fieldRows.flatMap((row) => row.names).filter((name) => /^\w+\.\w+$/.test(name));
    const unknown = named.filter((name) => {
      const [typeName = '', fieldName = ''] = name.split('.');
      const type = schema.getType(typeName);
      return !(isObjectType(type) || isInterfaceType(type)) || !(fieldName in type.getFields());
    });
    expect(unknown, 'rows naming a field the schema does not have').toEqual([]);
    const account = schema.getType('Account');
    if (!isObjectType(account)) throw new Error('the schema has no Account type');
    const missing = Object.keys(account.getFields()).filter((f) => !named.includes(`Account.${f}`));
    expect(missing, 'Account fields without a row').toEqual([]);
    const twice = named.filter((name, i) => named.indexOf(name) !== i);
    expect(twice).toEqual([]);
  });
});
