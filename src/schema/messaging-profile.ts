import { z } from 'zod';
import { fromUpstream } from '../errors.ts';
import type { GraphMessengerProfile, ProfileField } from '../instagram/graph.ts';
import { type SendOutcome, validationErrors } from '../sends/service.ts';
import { Account } from './account.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { DESCRIBE, failedOutcome, sender } from './send.ts';
import { UserError } from './user-error.ts';

/**
 * The account's messaging profile (instagram-api.md §12): ice breakers and the persistent menu,
 * read and written through `/<IG_ID>/messenger_profile`. Taps arrive as `PostbackReceivedEvent`.
 */

/**
 * Limits checked before any call: at most 4 ice breakers per locale (the ice-breakers page). The
 * rest are UNCONFIRMED for Instagram and taken from Messenger, so that igql never sends what
 * Instagram may refuse: a question at most 80 characters, a payload at most 1000, at most 20
 * menu items with titles of at most 30 characters, and a `default` locale in the menu.
 */
export const PROFILE_LIMITS = {
  iceBreakers: 4,
  question: 80,
  payload: 1000,
  menuItems: 20,
  menuTitle: 30,
} as const;

interface AccountRef {
  readonly kind: 'Account';
  readonly igId: string;
}

const IceBreaker = builder
  .objectRef<{ question: string; payload: string }>('IceBreaker')
  .implement({
    description: 'A question a customer can tap to start a conversation.',
    fields: (t) => ({
      question: t.exposeString('question', { description: 'What the customer sees.' }),
      payload: t.exposeString('payload', {
        description: 'Sent back in `PostbackReceivedEvent.payload` when tapped.',
      }),
    }),
  });

type MenuItemShape = NonNullable<
  GraphMessengerProfile['persistent_menu']
>[number]['call_to_actions'][number];

const MenuItemType = builder.enumType('MenuItemType', {
  description: 'What a persistent-menu item does.',
  values: {
    POSTBACK: { description: 'Sends `payload` back as a `PostbackReceivedEvent`.' },
    WEB_URL: { description: 'Opens `url`.' },
  } as const,
});

const MenuItem = builder.objectRef<MenuItemShape>('MenuItem').implement({
  description: 'One item of the persistent menu.',
  fields: (t) => ({
    type: t.field({
      type: MenuItemType,
      description: 'A postback or a link.',
      resolve: (i) => (i.type === 'postback' ? 'POSTBACK' : 'WEB_URL'),
    }),
    title: t.exposeString('title', { description: 'The item’s label.' }),
    payload: t.string({
      nullable: true,
      description: 'POSTBACK: sent back when tapped.',
      resolve: (i) => (i.type === 'postback' ? i.payload : null),
    }),
    url: t.string({
      nullable: true,
      description: 'WEB_URL: the page opened.',
      resolve: (i) => (i.type === 'web_url' ? i.url : null),
    }),
  }),
});

const PersistentMenu = builder
  .objectRef<NonNullable<GraphMessengerProfile['persistent_menu']>[number]>('PersistentMenu')
  .implement({
    description: 'The menu customers see in the conversation, for one locale.',
    fields: (t) => ({
      locale: t.string({
        description: '`default`, or a locale such as `en_US`.',
        resolve: (m) => m.locale ?? 'default',
      }),
      items: t.field({
        type: [MenuItem],
        description: 'The items, in order.',
        resolve: (m) => [...m.call_to_actions],
      }),
    }),
  });

const MessagingProfile = builder.objectRef<AccountRef>('MessagingProfile').implement({
  description: 'The account’s ice breakers and persistent menu.',
  fields: (t) => ({
    iceBreakers: t.field({
      type: [IceBreaker],
      description: 'The ice breakers of a locale (at most 4); empty when none are set.',
      args: {
        locale: t.arg.string({
          description: '`default` (the default) or a locale such as `en_US`.',
        }),
      },
      resolve: async (a, args, ctx) => {
        const profile = await read(ctx, a.igId, 'ice_breakers');
        const locale = args.locale ?? 'default';
        const set = profile.ice_breakers?.find((i) => (i.locale ?? 'default') === locale);
        return [...(set?.call_to_actions ?? [])];
      },
    }),
    persistentMenu: t.field({
      type: [PersistentMenu],
      description: 'The persistent menu, one per locale; empty when none is set.',
      resolve: async (a, _args, ctx) => [
        ...((await read(ctx, a.igId, 'persistent_menu')).persistent_menu ?? []),
      ],
    }),
  }),
});

async function read(
  ctx: Context,
  igId: string,
  field: ProfileField,
): Promise<GraphMessengerProfile> {
  try {
    return await ctx.loaders.messengerProfile(igId, field);
  } catch (error) {
    throw fromUpstream(error, 'Account');
  }
}

builder.objectField(Account, 'messagingProfile', (t) =>
  t.field({
    type: MessagingProfile,
    description: 'Ice breakers and the persistent menu customers see.',
    resolve: (a) => ({ kind: 'Account' as const, igId: a.igId }),
  }),
);

// ---- Mutations -----------------------------------------------------------------------------

const locale = z
  .string()
  .regex(/^(default|[a-z]{2}_[A-Z]{2})$/, 'must be default or a locale such as en_US')
  .nullish()
  .transform((l) => l ?? 'default');
const text = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => [...s].length <= max, `must be at most ${max} characters`);

const iceBreakersSchema = z
  .array(
    z.object({
      locale,
      iceBreakers: z
        .array(
          z.object({
            question: text(PROFILE_LIMITS.question),
            payload: text(PROFILE_LIMITS.payload),
          }),
        )
        .min(1, 'must have at least 1 ice breaker')
        .max(
          PROFILE_LIMITS.iceBreakers,
          `must have at most ${PROFILE_LIMITS.iceBreakers} ice breakers`,
        ),
    }),
  )
  .min(1, 'must have at least one locale')
  .refine(
    (sets) => new Set(sets.map((s) => s.locale)).size === sets.length,
    'must name each locale once',
  );

const menuSchema = z
  .array(
    z.object({
      locale,
      items: z
        .array(
          z
            .object({
              type: z.enum(['POSTBACK', 'WEB_URL']),
              title: text(PROFILE_LIMITS.menuTitle),
              payload: text(PROFILE_LIMITS.payload).nullish(),
              url: z
                .string()
                .refine(
                  (u) => URL.canParse(u) && new URL(u).protocol === 'https:',
                  'must be an https URL',
                )
                .nullish(),
            })
            .refine(
              (i) =>
                i.type === 'POSTBACK'
                  ? i.payload != null && i.url == null
                  : i.url != null && i.payload == null,
              {
                message: 'POSTBACK takes a payload (no url), WEB_URL a url (no payload)',
              },
            ),
        )
        .min(1, 'must have at least 1 item')
        .max(PROFILE_LIMITS.menuItems, `must have at most ${PROFILE_LIMITS.menuItems} items`),
    }),
  )
  .min(1, 'must have at least one locale')
  .refine((menus) => menus.some((m) => m.locale === 'default'), 'must include the default locale')
  .refine(
    (menus) => new Set(menus.map((m) => m.locale)).size === menus.length,
    'must name each locale once',
  );

const IceBreakerInput = builder.inputType('IceBreakerInput', {
  description: 'One ice breaker.',
  fields: (t) => ({
    question: t.string({
      required: true,
      description: `At most ${PROFILE_LIMITS.question} characters.`,
    }),
    payload: t.string({
      required: true,
      description: `At most ${PROFILE_LIMITS.payload} characters.`,
    }),
  }),
});
const IceBreakerLocaleInput = builder.inputType('IceBreakerLocaleInput', {
  description: 'The ice breakers of one locale.',
  fields: (t) => ({
    locale: t.string({ description: '`default` (the default) or a locale such as `en_US`.' }),
    iceBreakers: t.field({ type: [IceBreakerInput], required: true, description: '1 to 4.' }),
  }),
});
const MenuItemInput = builder.inputType('MenuItemInput', {
  description: 'One persistent-menu item.',
  fields: (t) => ({
    type: t.field({
      type: MenuItemType,
      required: true,
      description: 'POSTBACK needs `payload`, WEB_URL `url`.',
    }),
    title: t.string({
      required: true,
      description: `At most ${PROFILE_LIMITS.menuTitle} characters.`,
    }),
    payload: t.string({ description: `POSTBACK: at most ${PROFILE_LIMITS.payload} characters.` }),
    url: t.string({ description: 'WEB_URL: an https URL.' }),
  }),
});
const PersistentMenuInput = builder.inputType('PersistentMenuInput', {
  description: 'The menu of one locale.',
  fields: (t) => ({
    locale: t.string({ description: '`default` (the default) or a locale such as `en_US`.' }),
    items: t.field({
      type: [MenuItemInput],
      required: true,
      description: `1 to ${PROFILE_LIMITS.menuItems}.`,
    }),
  }),
});

const SetIceBreakersInput = builder.inputType('SetIceBreakersInput', {
  description: 'The ice breakers to set, per locale (replacing those set before).',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    locales: t.field({
      type: [IceBreakerLocaleInput],
      required: true,
      description: 'Each locale once.',
    }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});
const SetPersistentMenuInput = builder.inputType('SetPersistentMenuInput', {
  description: 'The persistent menu to set, per locale (replacing the one set before).',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    menus: t.field({
      type: [PersistentMenuInput],
      required: true,
      description: 'Each locale once; `default` among them.',
    }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});
const DeleteMessagingProfileInput = builder.inputType('DeleteMessagingProfileInput', {
  description: 'The account whose ice breakers or menu to delete.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const MessagingProfilePayload = builder
  .objectRef<SendOutcome>('MessagingProfilePayload')
  .implement({
    description: 'Whether Instagram took the change, or why not.',
    fields: (t) => ({
      ok: t.boolean({ description: 'True when Instagram took it.', resolve: (o) => o.ok }),
      userErrors: t.field({
        type: [UserError],
        description: 'Why it failed; empty when it did not.',
        resolve: (o) => [...o.userErrors],
      }),
    }),
  });

async function write(
  ctx: Context,
  input: { accountId: string | number; idempotencyKey?: string | null },
  name: string,
  call: Parameters<Context['sends']['write']>[1]['call'],
  content: unknown,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  return ctx.sends.write(from.session, {
    igId: from.igId,
    igsid: null,
    idempotencyKey: input.idempotencyKey,
    content: JSON.stringify([name, content]),
    what: 'messaging profile',
    call,
  });
}

/** Zod's issues as igql's input paths: `["input", "locales", 0, …]` as strings. */
function checked<T>(
  igId: string,
  schema: z.ZodType<T>,
  value: unknown,
  field: string,
): T | SendOutcome {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  return validationErrors(
    igId,
    result.error.issues.map((issue) => {
      const path = [field, ...issue.path.map(String)];
      return { field: ['input', ...path], message: `input.${path.join('.')} ${issue.message}` };
    }),
  );
}

builder.mutationFields((t) => ({
  setIceBreakers: t.field({
    type: MessagingProfilePayload,
    description: 'Sets the account’s ice breakers (at most 4 per locale).',
    args: {
      input: t.arg({ type: SetIceBreakersInput, required: true, description: 'The ice breakers.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const sets = checked(from.igId, iceBreakersSchema, input.locales, 'locales');
      if (!Array.isArray(sets)) return sets as SendOutcome;
      const ice_breakers = sets.map((s) => ({
        call_to_actions: s.iceBreakers.map(({ question, payload }) => ({ question, payload })),
        locale: s.locale,
      }));
      return write(
        ctx,
        input,
        'setIceBreakers',
        async (auth, api) => {
          await api.setMessengerProfile(auth, { ice_breakers });
          return {};
        },
        ice_breakers,
      );
    },
  }),
  setPersistentMenu: t.field({
    type: MessagingProfilePayload,
    description: 'Sets the account’s persistent menu.',
    args: {
      input: t.arg({ type: SetPersistentMenuInput, required: true, description: 'The menu.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const menus = checked(from.igId, menuSchema, input.menus, 'menus');
      if (!Array.isArray(menus)) return menus as SendOutcome;
      const persistent_menu = menus.map((m) => ({
        locale: m.locale,
        call_to_actions: m.items.map((i) =>
          i.type === 'POSTBACK'
            ? { type: 'postback' as const, title: i.title, payload: i.payload ?? '' }
            : { type: 'web_url' as const, title: i.title, url: i.url ?? '' },
        ),
      }));
      return write(
        ctx,
        input,
        'setPersistentMenu',
        async (auth, api) => {
          await api.setMessengerProfile(auth, { persistent_menu });
          return {};
        },
        persistent_menu,
      );
    },
  }),
  ...Object.fromEntries(
    (
      [
        ['deleteIceBreakers', 'ice_breakers', 'Deletes the account’s ice breakers, every locale.'],
        [
          'deletePersistentMenu',
          'persistent_menu',
          'Deletes the account’s persistent menu, every locale.',
        ],
      ] as const
    ).map(([name, field, description]) => [
      name,
      t.field({
        type: MessagingProfilePayload,
        description,
        args: {
          input: t.arg({
            type: DeleteMessagingProfileInput,
            required: true,
            description: 'The account.',
          }),
        },
        resolve: (_root, { input }, ctx) =>
          write(
            ctx,
            input,
            name,
            async (auth, api) => {
              await api.deleteMessengerProfile(auth, [field]);
              return {};
            },
            null,
          ),
      }),
    ]),
  ),
}));
