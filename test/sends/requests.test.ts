import { describe, expect, it } from 'vitest';
import { check, SENDS, type SendMutation, type SendSpec } from '../../src/sends/requests.ts';

/** The body a send posts, checked and built as `SendService` does, as the JSON on the wire. */
function wire(mutation: SendMutation, input: Record<string, unknown>): string {
  const spec: SendSpec<unknown> = SENDS[mutation];
  const checked = check(spec.schema, input);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return JSON.stringify(spec.body(checked.value));
}

// test/mutations.test.ts checks every spec's body through the app; these are the cases it does not.
describe('wire bodies', () => {
  it('tags a message send other than text HUMAN_AGENT, after its message', () => {
    const to = { recipientId: '1789', tag: 'HUMAN_AGENT' };
    expect(wire('sendImageMessage', { ...to, urls: ['https://cdn.example.com/a.png'] })).toBe(
      '{"recipient":{"id":"1789"},"message":{"attachment":{"type":"image","payload":{"url":"https://cdn.example.com/a.png"}}},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"}',
    );
    expect(wire('sendLikeHeart', to)).toBe(
      '{"recipient":{"id":"1789"},"message":{"attachment":{"type":"like_heart"}},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"}',
    );
  });

  it('writes a generic template element with an image or a default action alone', () => {
    const elements = [
      { title: 'Linen shirt', imageUrl: 'https://cdn.example.com/linen.jpg' },
      { title: 'Sizes', defaultActionUrl: 'https://shop.example.com/sizes' },
    ];
    expect(wire('sendGenericTemplate', { recipientId: '1789', tag: null, elements })).toBe(
      '{"recipient":{"id":"1789"},"message":{"attachment":{"type":"template","payload":{"template_type":"generic","elements":[{"title":"Linen shirt","image_url":"https://cdn.example.com/linen.jpg"},{"title":"Sizes","default_action":{"type":"web_url","url":"https://shop.example.com/sizes"}}]}}}}',
    );
  });
});
