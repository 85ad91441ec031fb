import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimPage, SimToken } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';

/**
 * Facebook Login's webhook subscription is the Page's (`/<PAGE_ID>/subscribed_apps`, Page
 * Subscribed Apps reference): the Page lists every app subscribed to it, one entry each, and only
 * a user with one of its tasks may read or change it.
 */

const CHATBOT = { id: '3330000000000003', name: 'Chatbot', fields: ['feed', 'messages'] };

let gw: Gateway;
let page: SimPage;

beforeAll(async () => {
  gw = await startGateway((sim) => {
    ({ page } = sim.addFacebookAccount({ username: 'harbor.cafe' }));
    sim.store.subscribeOtherApp(page.id, CHATBOT);
  });
});
afterAll(() => gw.stop());

/** `method /<PAGE_ID>/subscribed_apps` on the simulator's graph.facebook.com with `token`. */
const call = async (token: SimToken, method = 'GET', query = '') => {
  const res = await fetch(`${gw.sim.url}/facebook/v27.0/${page.id}/subscribed_apps${query}`, {
    method,
    headers: { authorization: `Bearer ${token.token}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const withTasks = (tasks: string[]) => gw.sim.store.issuePageToken(page.id, undefined, tasks);

describe('the simulator’s Page subscription', () => {
  it('lists every app subscribed to the Page, igql’s (the Facebook app) and the others', async () => {
    expect(await call(withTasks(['MANAGE']))).toEqual({
      status: 200,
      body: {
        data: [
          { id: gw.sim.facebookAppId, name: 'igql', subscribed_fields: ['feed'] },
          { id: CHATBOT.id, name: 'Chatbot', subscribed_fields: ['feed', 'messages'] },
        ],
      },
    });
  });

  it('needs CREATE_CONTENT, MANAGE or MODERATE to read, MODERATE or MANAGE to change', async () => {
    const refused = (tasks: string) => ({
      status: 400,
      body: {
        error: {
          message: `(#200) The user must be able to perform one of the tasks ${tasks} on the Page`,
          type: 'OAuthException',
          code: 200,
          fbtrace_id: expect.any(String),
        },
      },
    });
    const analyst = withTasks(['ANALYZE', 'ADVERTISE', 'MESSAGING']);
    expect(await call(analyst)).toEqual(refused('CREATE_CONTENT, MANAGE, MODERATE'));
    const editor = withTasks(['CREATE_CONTENT']);
    expect((await call(editor)).status).toBe(200);
    expect(await call(editor, 'POST', '?subscribed_fields=feed')).toEqual(
      refused('MANAGE, MODERATE'),
    );
    expect(await call(withTasks(['MODERATE']), 'POST', '?subscribed_fields=feed')).toEqual({
      status: 200,
      body: { success: true },
    });
    // A token issued without the user's tasks has a full-control user's.
    expect(gw.sim.store.issuePageToken(page.id).tasks).toEqual([
      'ADVERTISE',
      'ANALYZE',
      'CREATE_CONTENT',
      'MESSAGING',
      'MODERATE',
      'MANAGE',
    ]);
  });
});

describe('igql’s check of the Page subscription (reconciliation)', () => {
  const subscriptionCalls = (mark: number) =>
    gw.sim.requests
      .slice(mark)
      .filter((r) => r.endpoint === '/{id}/subscribed_apps')
      .map((r) =>
        `${r.host} ${r.method} ${r.path.endsWith(`/${page.id}/subscribed_apps`)} ${r.query.subscribed_fields ?? ''}`.trim(),
      );

  it('reads only igql’s entry: another app’s `feed` does not hide igql’s dropped one', async () => {
    page.subscribedFields.clear();
    const mark = gw.sim.requests.length;
    await gw.app.reconciler.runOnce();
    // Only the field igql needs is posted: not the other app's `messages`.
    expect(subscriptionCalls(mark)).toEqual(['facebook GET true', 'facebook POST true feed']);
    expect([...page.subscribedFields]).toEqual(['feed']);
    expect([...(page.otherApps.get(CHATBOT.id)?.subscribedFields ?? [])]).toEqual(CHATBOT.fields);
  });
});
