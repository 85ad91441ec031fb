import { describe, expect, it } from 'vitest';
import {
  classify,
  fromResponse,
  InstagramError,
  type InstagramErrorKind,
  isErrorEnvelope,
  tokenRefusalReason,
} from '../../src/instagram/errors.ts';

const REDUCE = "Please reduce the amount of data you're asking for, then retry your request";

describe('classify', () => {
  const table: readonly [number, number | undefined, string, InstagramErrorKind][] = [
    [190, undefined, 'Invalid OAuth access token - Cannot parse access token', 'token'],
    [190, 463, 'Error validating access token: Session has expired', 'token'],
    [190, 460, 'Error validating access token: The session has been invalidated', 'token'],
    [4, undefined, 'Application request limit reached', 'rate_limited'],
    [17, undefined, 'User request limit reached', 'rate_limited'],
    [32, undefined, 'Page request limit reached', 'rate_limited'],
    [613, 2534040, 'Calls to this api have exceeded the rate limit.', 'rate_limited'],
    [80002, undefined, 'There have been too many calls to this Instagram account.', 'rate_limited'],
    [
      9000001,
      undefined,
      'This Message has been deleted by the user or the business.',
      'message_too_old',
    ],
    [1, 99, REDUCE, 'reduce_data'],
    [1, 99, 'An unknown error has occurred.', 'reduce_data'],
    [1, undefined, REDUCE, 'reduce_data'],
    [1, undefined, 'An unknown error has occurred.', 'transient'],
    [
      2,
      undefined,
      'An unexpected error has occurred. Please retry your request later.',
      'transient',
    ],
    [10, 2534022, 'This message is sent outside of allowed window.', 'outside_window'],
    [10, 2018278, 'This message is sent outside of allowed window.', 'outside_window'],
    [10, 2018108, "They can't receive your messages right now.", 'recipient_unavailable'],
    [
      551,
      undefined,
      "This person isn't receiving messages from you right now",
      'recipient_unavailable',
    ],
    [551, 1545041, "This person isn't available right now.", 'recipient_unavailable'],
    [100, 2534014, 'No matching Instagram user', 'recipient_unavailable'],
    [230, undefined, 'User consent is required to access user profile.', 'consent_required'],
    [10, undefined, '(#10) Application does not have permission for this action', 'permission'],
    [10, 1893063, 'temporarily restricted', 'permission'],
    [200, undefined, '(#200) Requires instagram_business_manage_messages permission', 'permission'],
    [200, 2534041, 'The account owner disabled access to DMs', 'permission'],
    [299, undefined, '(#299) permission', 'permission'],
    [100, 33, "Unsupported get request. Object with ID '1' does not exist", 'not_found'],
    [2500, undefined, 'Unknown path components: /nope', 'not_found'],
    [100, undefined, '(#100) The parameter limit must be an integer', 'invalid_parameter'],
    [100, 2534015, 'Invalid message data', 'invalid_parameter'],
    [100, 2018008, 'Failed to fetch the file from the url', 'invalid_parameter'],
    [36103, undefined, 'not eligible', 'invalid_parameter'],
  ];

  it.each(table)('%i/%s (%s) is %s', (code, subcode, message, kind) => {
    expect(classify(code, subcode, message)).toBe(kind);
  });
});

/** The fields of an `InstagramError` a caller reads. */
const fieldsOf = (error: InstagramError) => ({
  kind: error.kind,
  code: error.code,
  subcode: error.subcode,
  status: error.status,
  retryAfterMs: error.retryAfterMs,
  outcome: error.outcome,
  message: error.message,
});

const envelope = (error: Record<string, unknown>) => ({
  error: { type: 'IGApiException', fbtrace_id: 'A7OjVVCXwSdfpIERKqntSKo', ...error },
});

describe('fromResponse', () => {
  it('reads the Graph envelope, whatever the HTTP status', () => {
    const error = fromResponse(
      403,
      envelope({
        message: 'This message is sent outside of allowed window.',
        code: 10,
        error_subcode: 2534022,
      }),
    );
    expect(error).toBeInstanceOf(InstagramError);
    expect(error.name).toBe('InstagramError');
    expect(fieldsOf(error)).toEqual({
      kind: 'outside_window',
      code: 10,
      subcode: 2534022,
      status: 403,
      retryAfterMs: undefined,
      outcome: '10',
      message: 'This message is sent outside of allowed window.',
    });
  });

  it('decides by code, not status: a 200 carrying an envelope is still an error', () => {
    expect(fieldsOf(fromResponse(200, envelope({ message: 'x', code: 190 })))).toMatchObject({
      kind: 'token',
      status: 200,
      outcome: '190',
    });
  });

  it('gives a rate limit the wait it is handed, or 1 s', () => {
    const body = envelope({ message: 'Application request limit reached', code: 4 });
    expect(fieldsOf(fromResponse(400, body))).toEqual({
      kind: 'rate_limited',
      code: 4,
      subcode: undefined,
      status: 400,
      retryAfterMs: 1000,
      outcome: '4',
      message: 'Application request limit reached',
    });
    expect(fromResponse(429, body, 3_600_000).retryAfterMs).toBe(3_600_000);
  });

  it('gives no wait to errors that are not rate limits, even when one is handed over', () => {
    const error = fromResponse(
      500,
      envelope({ message: REDUCE, code: 1, error_subcode: 99 }),
      60_000,
    );
    expect(fieldsOf(error)).toEqual({
      kind: 'reduce_data',
      code: 1,
      subcode: 99,
      status: 500,
      retryAfterMs: undefined,
      outcome: '1',
      message: REDUCE,
    });
  });

  it('makes an answer without an envelope transient on 5xx and 429, invalid otherwise', () => {
    const cases: readonly [number, unknown, InstagramErrorKind][] = [
      [503, undefined, 'transient'],
      [500, '<html><body>Service Unavailable</body></html>', 'transient'],
      [502, null, 'transient'],
      [429, {}, 'transient'],
      [400, { error: 'bad' }, 'invalid_parameter'],
      [404, { error: { code: '100', message: 'code is a string' } }, 'invalid_parameter'],
      [400, [], 'invalid_parameter'],
    ];
    for (const [status, body, kind] of cases) {
      expect(fieldsOf(fromResponse(status, body))).toEqual({
        kind,
        code: undefined,
        subcode: undefined,
        status,
        retryAfterMs: undefined,
        outcome: kind,
        message: `Instagram answered HTTP ${status} without an error envelope`,
      });
    }
  });

  it('ignores a subcode or message of the wrong type', () => {
    const error = fromResponse(400, { error: { code: 100, error_subcode: '33', message: 7 } });
    expect(fieldsOf(error)).toEqual({
      kind: 'invalid_parameter',
      code: 100,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
      outcome: '100',
      message: 'Instagram error',
    });
  });
});

describe('what support gets instead of Instagram’s message', () => {
  it('keeps the code, subcode and fbtrace_id as the reference', () => {
    const error = fromResponse(
      400,
      envelope({ message: 'x', code: 100, error_subcode: 2018001, fbtrace_id: 'AbC-123_xyz' }),
    );
    expect(error.traceId).toBe('AbC-123_xyz');
    expect(error.reference).toEqual({ code: 100, subcode: 2018001, traceId: 'AbC-123_xyz' });
    expect(fromResponse(400, { error: { message: 'x', code: 2 } }).reference).toEqual({
      code: 2,
      subcode: null,
      traceId: null,
    });
  });

  it('drops a trace id that does not look like Meta’s, and has no reference without an answer', () => {
    const odd = fromResponse(400, envelope({ message: 'x', code: 2, fbtrace_id: 'a b <c>' }));
    expect(odd.traceId).toBeUndefined();
    expect(new InstagramError({ kind: 'timeout', message: 'late' }).reference).toBeUndefined();
  });

  it('words a refused token by subcode, never with Instagram’s text', () => {
    const refusal = (subcode?: number) =>
      tokenRefusalReason(
        fromResponse(
          400,
          envelope({ message: 'IGAA secret text', code: 190, error_subcode: subcode }),
        ),
      );
    expect(refusal(463)).toBe('Instagram refused the access token: it expired');
    expect(refusal(458)).toBe('Instagram refused the access token: the user removed the app');
    expect(refusal()).toBe('Instagram refused the access token');
    expect(refusal(999)).toBe('Instagram refused the access token');
  });
});

describe('isErrorEnvelope', () => {
  it('is true for Graph’s {"error":{…}} only', () => {
    expect(isErrorEnvelope({ error: { code: 1 } })).toBe(true);
    expect(isErrorEnvelope({ error: {} })).toBe(true);
    for (const body of [
      { data: [] },
      { error: 'x' },
      { error: null },
      null,
      undefined,
      'error',
      [],
    ]) {
      expect(isErrorEnvelope(body)).toBe(false);
    }
  });
});
