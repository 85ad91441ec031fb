import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { generate } from '@graphql-codegen/cli';
import { buildSchema, type DocumentNode, Kind, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.ts';

const OPERATIONS = 'schema/operations';
const GENERATED = 'schema/generated/';

/** Every operation and fragment of `schema/operations/`, as one document. */
async function operations(): Promise<DocumentNode> {
  const files = (await readdir(OPERATIONS)).filter((f) => f.endsWith('.graphql')).sort();
  const texts = await Promise.all(files.map((f) => readFile(`${OPERATIONS}/${f}`, 'utf8')));
  return parse(texts.join('\n'));
}

const manifest = async () =>
  JSON.parse(await readFile(`${GENERATED}persisted-documents.json`, 'utf8')) as Record<
    string,
    string
  >;

describe('schema/operations: what a shared inbox runs', () => {
  it('are the operations of an inbox, each valid against schema/schema.graphql', async () => {
    const schema = buildSchema(await readFile('schema/schema.graphql', 'utf8'));
    const document = await operations();
    expect(validate(schema, document).map((e) => e.message)).toEqual([]);
    const names = document.definitions.map((d) =>
      d.kind === Kind.OPERATION_DEFINITION ? `${d.operation} ${d.name?.value}` : d.kind,
    );
    expect(names.filter((n) => n !== Kind.FRAGMENT_DEFINITION).sort()).toEqual([
      'mutation MarkSeen',
      'mutation React',
      'mutation SendHeart',
      'mutation SendImage',
      'mutation SendQuickReplies',
      'mutation SendText',
      'mutation Typing',
      'query Conversation',
      'query Inbox',
      'query LoginStatus',
      'subscription InboxEvents',
    ]);
  });

  it('have typed documents and a manifest that are what `npm run codegen` generates', async () => {
    const outputs: { filename: string; content: string }[] = await generate(
      { ...config, cwd: process.cwd() },
      false,
    );
    const generated = outputs.filter((o) => o.filename.startsWith(GENERATED));
    expect(generated.map((o) => o.filename).sort()).toEqual(
      (await readdir(GENERATED)).map((f) => `${GENERATED}${f}`).sort(),
    );
    for (const { filename, content } of generated) {
      const committed = await readFile(filename, 'utf8');
      expect(committed === content, `${filename} is out of date: run \`npm run codegen\``).toBe(
        true,
      );
    }
  });

  it('lists each operation once in the manifest, by the SHA-256 of its text', async () => {
    const entries = Object.entries(await manifest());
    expect(entries).toHaveLength(11);
    for (const [id, text] of entries) {
      expect(id).toBe(createHash('sha256').update(text).digest('hex'));
      const defined = parse(text).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      expect(defined).toHaveLength(1);
    }
  });
});
