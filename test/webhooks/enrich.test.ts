import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../src/auth/token-store.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import type { InstagramApi } from '../../src/instagram/graph.ts';
import { createLogger } from '../../src/logger.ts';
import { eventCompleter } from '../../src/webhooks/enrich.ts';

const IG = '17841400000000001';
const IGSID = '5614879045272581';

const edit = (mid: string): InboxEventData => ({
  kind: 'MESSAGE_EDITED',
  igId: IG,
  igsid: null,
  occurredAt: 1_764_000_000_000,
  identity: `${IG}|MESSAGE_EDITED|${mid}|1|`,
  standby: false,
  mid,
  text: null,
  numEdit: 1,
});

async function completer(node: (mid: string) => Promise<unknown>, timeoutMs = 50) {
  const tokens = new MemoryTokenStore();
  await tokens.put({ igId: IG, accessToken: 'IGAAtoken', status: 'ACTIVE', issuedAt: 0 });
  const asked: string[] = [];
  const api = {
    node: (_auth: unknown, mid: string, fields: string) => {
      asked.push(`${mid} ${fields}`);
      return node(mid);
    },
  } as unknown as InstagramApi;
  return {
    complete: eventCompleter({ api, tokens, logger: createLogger('silent'), timeoutMs }),
    asked,
  };
}

describe('eventCompleter', () => {
  it('reads an edit’s text and customer once; the other events pass untouched', async () => {
    const { complete, asked } = await completer(async () => ({
      id: 'm.1',
      from: { id: IGSID, username: 'ana' },
      to: { data: [{ id: IG, username: 'shop' }] },
      message: 'new text',
    }));
    // With its customer and text already: nothing to read.
    const other = { ...edit('m.2'), igsid: IGSID, text: 'as sent' };
    expect(await complete([edit('m.1'), other])).toEqual([
      { ...edit('m.1'), igsid: IGSID, text: 'new text' },
      other,
    ]);
    expect(asked).toEqual(['m.1 id,created_time,from,to,message']);
  });

  it('stores an event as it came when the read fails, when it is slow, or when the message is too old', async () => {
    const { complete } = await completer(async (mid) => {
      if (mid === 'fails') throw new Error('Instagram is away');
      if (mid === 'slow') return new Promise(() => {});
      return { id: mid }; // past the 20 newest: no `from`
    });
    const events = [edit('fails'), edit('slow'), edit('old')];
    expect(await complete(events)).toEqual(events);
  });

  it('reads nothing for an account without a token', async () => {
    const { complete, asked } = await completer(async () => ({}));
    const foreign = { ...edit('m.3'), igId: '17841400000000009' };
    expect(await complete([foreign])).toEqual([foreign]);
    expect(asked).toEqual([]);
  });
});
