import { errors } from './errors.ts';
import { requirePermission } from './permissions.ts';
import type { SimAccount, SimToken, Store } from './store.ts';

/**
 * `/<IG_ID>/messenger_profile` (instagram-api.md §12): ice breakers and the persistent menu.
 * POST sets the fields given, GET reads `fields`, DELETE removes `fields`; POST and DELETE answer
 * `{"result":"success"}` (Postman: api-messenger-profile-result-postman.json).
 */

/**
 * The documented and the assumed limits. Ice breakers: at most 4 questions per locale (the
 * ice-breakers page). UNCONFIRMED, strict, Messenger's figures: a question at most 80
 * characters, a payload at most 1000, at most 20 menu items of at most 30-character titles, and
 * the persistent menu must have a `default` locale.
 */
export const PROFILE_LIMITS = {
  iceBreakers: 4,
  question: 80,
  payload: 1000,
  menuItems: 20,
  menuTitle: 30,
} as const;

const FIELDS = new Set(['ice_breakers', 'persistent_menu']);
const MANAGE_MESSAGES = 'instagram_business_manage_messages';

type Json = Record<string, unknown>;

/** What each account set, by field. */
const profiles = new WeakMap<SimAccount, Map<string, unknown>>();

/** The account's messaging profile as set (for tests: an ice breaker's payload to tap). */
export function profileOf(account: SimAccount): ReadonlyMap<string, unknown> {
  return profiles.get(account) ?? new Map();
}

export function handleProfile(
  _store: Store,
  account: SimAccount,
  token: SimToken,
  method: string,
  query: URLSearchParams,
  body: Json,
): Json {
  requirePermission(token, MANAGE_MESSAGES);
  const stored = profiles.get(account) ?? new Map<string, unknown>();
  profiles.set(account, stored);
  if (method === 'GET') {
    requireInstagram(query.get('platform'));
    const fields = listOf(query.get('fields')?.split(',') ?? [], 'fields');
    const found = fields.filter((field) => stored.has(field));
    return {
      data: found.length === 0 ? [] : [Object.fromEntries(found.map((f) => [f, stored.get(f)]))],
    };
  }
  requireInstagram(body.platform);
  if (method === 'DELETE') {
    const fields = listOf(body.fields, 'fields');
    for (const field of fields) stored.delete(field);
    return { result: 'success' };
  }
  if (method !== 'POST') throw errors.unsupportedGet(account.igId);
  const keys = Object.keys(body).filter((key) => key !== 'platform' && key !== 'access_token');
  if (keys.length === 0) throw errors.invalidParameter('No profile field was set');
  for (const key of keys) {
    if (!FIELDS.has(key)) throw errors.invalidParameter(`Unknown parameter: ${key}`);
  }
  if (body.ice_breakers !== undefined) stored.set('ice_breakers', iceBreakers(body.ice_breakers));
  if (body.persistent_menu !== undefined)
    stored.set('persistent_menu', persistentMenu(body.persistent_menu));
  return { result: 'success' };
}

function requireInstagram(platform: unknown): void {
  // UNCONFIRMED, strict: every documented call names the platform.
  if (platform !== 'instagram') throw errors.invalidParameter('Param platform must be instagram');
}

function listOf(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw errors.invalidParameter(`The parameter ${name} is required`);
  }
  for (const field of value) {
    if (!FIELDS.has(field as string)) {
      throw errors.invalidParameter(`Param ${name} must be one of {ice_breakers, persistent_menu}`);
    }
  }
  return value as string[];
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown, path: string, max: number): string => {
  if (typeof value !== 'string' || value.length === 0 || [...value].length > max) {
    throw errors.invalidParameter(
      `Param ${path} must be a non-empty string of at most ${max} characters`,
    );
  }
  return value;
};

/** Locales given once each, `default` or a locale such as `en_US`. */
function locales(value: unknown, param: string): Json[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isObject)) {
    throw errors.invalidParameter(`Param ${param} must be a non-empty array of objects`);
  }
  const seen = new Set<string>();
  value.forEach((item, i) => {
    const locale = item.locale ?? 'default';
    if (typeof locale !== 'string' || !/^(default|[a-z]{2}_[A-Z]{2})$/.test(locale)) {
      throw errors.invalidParameter(`Param ${param}[${i}][locale] must be default or a locale`);
    }
    if (seen.has(locale)) throw errors.invalidParameter(`Param ${param} repeats locale ${locale}`);
    seen.add(locale);
  });
  return value;
}

function iceBreakers(value: unknown): Json[] {
  return locales(value, 'ice_breakers').map((item, i) => {
    const actions = item.call_to_actions;
    const param = `ice_breakers[${i}][call_to_actions]`;
    if (!Array.isArray(actions) || actions.length === 0) {
      throw errors.invalidParameter(`Param ${param} must be a non-empty array`);
    }
    if (actions.length > PROFILE_LIMITS.iceBreakers) {
      throw errors.invalidParameter(
        `Param ${param} must have at most ${PROFILE_LIMITS.iceBreakers} ice breakers`,
      );
    }
    return {
      call_to_actions: actions.map((action: unknown, j) => {
        if (!isObject(action))
          throw errors.invalidParameter(`Param ${param}[${j}] must be an object`);
        return {
          question: text(action.question, `${param}[${j}][question]`, PROFILE_LIMITS.question),
          payload: text(action.payload, `${param}[${j}][payload]`, PROFILE_LIMITS.payload),
        };
      }),
      locale: item.locale ?? 'default',
    };
  });
}

function persistentMenu(value: unknown): Json[] {
  const menus = locales(value, 'persistent_menu');
  if (!menus.some((menu) => (menu.locale ?? 'default') === 'default')) {
    throw errors.invalidParameter('Param persistent_menu must have a default locale');
  }
  return menus.map((item, i) => {
    const actions = item.call_to_actions;
    const param = `persistent_menu[${i}][call_to_actions]`;
    if (!Array.isArray(actions) || actions.length === 0) {
      throw errors.invalidParameter(`Param ${param} must be a non-empty array`);
    }
    if (actions.length > PROFILE_LIMITS.menuItems) {
      throw errors.invalidParameter(
        `Param ${param} must have at most ${PROFILE_LIMITS.menuItems} items`,
      );
    }
    return {
      locale: item.locale ?? 'default',
      call_to_actions: actions.map((action: unknown, j) => {
        const at = `${param}[${j}]`;
        if (!isObject(action)) throw errors.invalidParameter(`Param ${at} must be an object`);
        const title = text(action.title, `${at}[title]`, PROFILE_LIMITS.menuTitle);
        if (action.type === 'postback') {
          return {
            type: 'postback',
            title,
            payload: text(action.payload, `${at}[payload]`, PROFILE_LIMITS.payload),
          };
        }
        if (action.type === 'web_url') {
          const url = action.url;
          if (typeof url !== 'string' || !URL.canParse(url) || new URL(url).protocol !== 'https:') {
            throw errors.invalidParameter(`Param ${at}[url] must be an https URL`);
          }
          return { type: 'web_url', title, url };
        }
        throw errors.invalidParameter(`Param ${at}[type] must be one of {postback, web_url}`);
      }),
    };
  });
}
