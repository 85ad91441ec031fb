import { errors, GraphError } from './errors.ts';
import { digits } from './ids.ts';
import { requirePermission } from './permissions.ts';
import { graphTime } from './render.ts';
import type { Clock, SimAccount, SimToken } from './store.ts';

/**
 * `/<IG_ID>/welcome_message_flows` (instagram-api.md §12; Meta's "Welcome Message Flows" page for
 * Instagram Login, updated 2026-06-30, and the Messenger page it follows): the welcome messages
 * of Click-to-Instagram-Direct ads.
 *
 * - `POST` without `flow_id` creates: `name`, `welcome_message_flow` (an array of
 *   `{message:{text, quick_replies?}}`), `eligible_platforms: ["instagram"]` ("Only Instagram is
 *   supported") → `{"flow_id":"…"}`.
 * - `POST` with `flow_id` updates the fields given → `{"success":true}`; "A flow that is currently
 *   connected to an advertisement cannot be updated" (`is_used_in_ad`).
 * - `GET` lists (optionally `flow_id=`): the node fields of Meta's SDKs
 *   (`ShadowIGUserCTXPartnerAppWelcomeMessageFlow`): `id, name, eligible_platforms,
 *   is_used_in_ad, last_update_time, welcome_message_flow` (the last a JSON string).
 * - `DELETE` with `flow_id` → `{"success":true}` (the SDKs' DELETE edge takes `flow_id`).
 *
 * On a Page (Facebook Login, `/<PAGE_ID>/welcome_message_flows` on graph.facebook.com) the
 * edge is the Messenger Platform's ("Welcome message flows", updated 2026-03-15): a flow's
 * `eligible_platforms` is any of `["instagram", "messenger"]`, so the Page's list holds its
 * Messenger flows beside the Instagram ones. That page also lists `pages_messaging` for the
 * edge: required here for Page tokens (igql's Facebook Login asks for it, optional).
 *
 * UNCONFIRMED, strict: every limit below and every error text (Meta documents none); that only
 * `id` is returned without `fields` (Graph's default for nodes, instagram-api.md §9); that a flow
 * used in an ad cannot be deleted either; the response of update and delete on
 * graph.instagram.com (the Messenger page's `{"success":true}`).
 */
export const WELCOME_FLOW_LIMITS = {
  /** A flow's name, in characters. */
  name: 100,
  /** Messages per flow: every documented sample has exactly one. */
  messages: 1,
  /** A message's text, in UTF-8 bytes (the Send API's limit, instagram-api.md §1). */
  textBytes: 1000,
  /** Quick replies per message (the Send API's 13). */
  quickReplies: 13,
  /** A quick reply's title, in characters (the Send API's 20; refused here, not truncated). */
  quickReplyTitle: 20,
  /** A quick reply's payload, in characters. */
  payload: 1000,
} as const;

const MANAGE_MESSAGES = 'instagram_business_manage_messages';
const FIELDS = new Set([
  'id',
  'name',
  'eligible_platforms',
  'is_used_in_ad',
  'last_update_time',
  'welcome_message_flow',
]);

type Json = Record<string, unknown>;

interface SimFlow {
  readonly id: string;
  name: string;
  eligiblePlatforms: string[];
  messages: Json[];
  usedInAd: boolean;
  updatedAt: number;
}

const flowNotFound = (id: string) =>
  new GraphError({
    status: 400,
    code: 100,
    subcode: 33,
    message: `(#100) Welcome message flow ${id} does not exist or cannot be loaded due to missing permissions`,
  });

const usedInAd = (id: string) =>
  errors.invalidParameter(
    `Welcome message flow ${id} is connected to an ad and cannot be changed or deleted`,
  );

export class WelcomeFlows {
  readonly #clock: Clock;
  readonly #flows = new Map<string, Map<string, SimFlow>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Connects a flow to an ad (what Ads Manager would do): it can no longer change. */
  useInAd(igId: string, flowId: string): void {
    const flow = this.#flows.get(igId)?.get(flowId);
    if (!flow) throw new Error(`no welcome message flow ${flowId} on account ${igId}`);
    flow.usedInAd = true;
  }

  handle(
    account: SimAccount,
    token: SimToken,
    method: string,
    query: URLSearchParams,
    body: Json,
    /** The Page's edge (graph.facebook.com), which takes Messenger's platforms too. */
    page = false,
  ): Json {
    requirePermission(token, MANAGE_MESSAGES);
    if (page) requirePermission(token, 'pages_messaging');
    const flows = this.#flows.get(account.igId) ?? new Map<string, SimFlow>();
    this.#flows.set(account.igId, flows);
    if (method === 'GET') return this.#list(flows, query);
    const flowId = body.flow_id ?? query.get('flow_id') ?? undefined;
    if (method === 'DELETE') {
      const flow = existing(flows, flowId);
      if (flow.usedInAd) throw usedInAd(flow.id);
      flows.delete(flow.id);
      return { success: true };
    }
    if (method !== 'POST') throw errors.unsupportedGet(account.igId);
    const allowed = new Set([
      'flow_id',
      'name',
      'welcome_message_flow',
      'eligible_platforms',
      'access_token',
    ]);
    for (const key of Object.keys(body)) {
      if (!allowed.has(key)) throw errors.invalidParameter(`Unknown parameter: ${key}`);
    }
    if (flowId === undefined) {
      for (const key of ['name', 'welcome_message_flow', 'eligible_platforms']) {
        if (body[key] === undefined) {
          throw errors.invalidParameter(`The parameter ${key} is required`);
        }
      }
      const flow: SimFlow = {
        id: digits(15),
        name: nameOf(body.name),
        eligiblePlatforms: platformsOf(body.eligible_platforms, page),
        messages: messagesOf(body.welcome_message_flow),
        usedInAd: false,
        updatedAt: this.#clock.now(),
      };
      flows.set(flow.id, flow);
      return { flow_id: flow.id };
    }
    const flow = existing(flows, flowId);
    if (flow.usedInAd) throw usedInAd(flow.id);
    if (
      body.name === undefined &&
      body.welcome_message_flow === undefined &&
      body.eligible_platforms === undefined
    ) {
      throw errors.invalidParameter('Nothing to update: name, welcome_message_flow or platforms');
    }
    // Checked whole before anything changes.
    const name = body.name === undefined ? flow.name : nameOf(body.name);
    const platforms =
      body.eligible_platforms === undefined
        ? flow.eligiblePlatforms
        : platformsOf(body.eligible_platforms, page);
    const messages =
      body.welcome_message_flow === undefined
        ? flow.messages
        : messagesOf(body.welcome_message_flow);
    flow.name = name;
    flow.eligiblePlatforms = platforms;
    flow.messages = messages;
    flow.updatedAt = this.#clock.now();
    return { success: true };
  }

  #list(flows: ReadonlyMap<string, SimFlow>, query: URLSearchParams): Json {
    const fields = (query.get('fields') ?? 'id').split(',').map((f) => f.trim());
    for (const field of fields) {
      if (!FIELDS.has(field)) {
        throw errors.nonexistingField(field, 'ShadowIGUserCTXPartnerAppWelcomeMessageFlow');
      }
    }
    const only = query.get('flow_id');
    const listed = [...flows.values()].filter((f) => only === null || f.id === only);
    const render = (flow: SimFlow): Json => {
      const all: Json = {
        id: flow.id,
        name: flow.name,
        eligible_platforms: flow.eligiblePlatforms,
        is_used_in_ad: flow.usedInAd,
        last_update_time: graphTime(flow.updatedAt),
        welcome_message_flow: JSON.stringify(flow.messages),
      };
      return Object.fromEntries(['id', ...fields].map((f) => [f, all[f]]));
    };
    return { data: listed.map(render) };
  }
}

function existing(flows: ReadonlyMap<string, SimFlow>, flowId: unknown): SimFlow {
  if (flowId === undefined || flowId === '') {
    throw errors.invalidParameter('The parameter flow_id is required');
  }
  const flow = flows.get(String(flowId));
  if (!flow) throw flowNotFound(String(flowId));
  return flow;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function nameOf(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    [...value].length > WELCOME_FLOW_LIMITS.name
  ) {
    throw errors.invalidParameter(
      `Param name must be a non-empty string of at most ${WELCOME_FLOW_LIMITS.name} characters`,
    );
  }
  return value;
}

/** The platforms a Page's flow may name (Messenger Platform's page: `["instagram", "messenger"]`). */
const PAGE_PLATFORMS: ReadonlySet<string> = new Set(['instagram', 'messenger']);

function platformsOf(value: unknown, page: boolean): string[] {
  if (!page) {
    // "eligible_platforms set to "instagram" (Only Instagram is supported.)"
    if (!Array.isArray(value) || value.length !== 1 || value[0] !== 'instagram') {
      throw errors.invalidParameter('Param eligible_platforms must be ["instagram"]');
    }
    return ['instagram'];
  }
  // A Page's: one or both of its platforms, each once (UNCONFIRMED, strict).
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    new Set(value).size !== value.length ||
    value.some((p) => typeof p !== 'string' || !PAGE_PLATFORMS.has(p))
  ) {
    throw errors.invalidParameter(
      'Param eligible_platforms must be a list of {instagram, messenger}, each at most once',
    );
  }
  return [...value] as string[];
}

function messagesOf(value: unknown): Json[] {
  const limit = WELCOME_FLOW_LIMITS.messages;
  if (!Array.isArray(value) || value.length === 0 || value.length > limit) {
    throw errors.invalidParameter(
      `Param welcome_message_flow must be an array of 1 to ${limit} messages`,
    );
  }
  return value.map((item: unknown, i) => {
    const at = `welcome_message_flow[${i}]`;
    if (!isObject(item) || Object.keys(item).some((k) => k !== 'message')) {
      throw errors.invalidParameter(`Param ${at} must be {"message": {...}}`);
    }
    const message = item.message;
    if (!isObject(message)) throw errors.invalidParameter(`Param ${at}[message] is required`);
    for (const key of Object.keys(message)) {
      if (key !== 'text' && key !== 'quick_replies') {
        throw errors.invalidParameter(`Param ${at}[message][${key}] is not supported`);
      }
    }
    const text = message.text;
    if (
      typeof text !== 'string' ||
      text === '' ||
      Buffer.byteLength(text) > WELCOME_FLOW_LIMITS.textBytes
    ) {
      throw errors.invalidParameter(
        `Param ${at}[message][text] must be a non-empty string of at most ${WELCOME_FLOW_LIMITS.textBytes} bytes`,
      );
    }
    const replies = message.quick_replies;
    if (replies === undefined) return { message: { text } };
    if (!Array.isArray(replies) || replies.length > WELCOME_FLOW_LIMITS.quickReplies) {
      throw errors.invalidParameter(
        `Param ${at}[message][quick_replies] must be an array of at most ${WELCOME_FLOW_LIMITS.quickReplies}`,
      );
    }
    const quickReplies = replies.map((reply: unknown, j) => {
      const path = `${at}[message][quick_replies][${j}]`;
      if (!isObject(reply) || reply.content_type !== 'text') {
        throw errors.invalidParameter(`Param ${path}[content_type] must be text`);
      }
      const { title, payload } = reply;
      if (
        typeof title !== 'string' ||
        title === '' ||
        [...title].length > WELCOME_FLOW_LIMITS.quickReplyTitle
      ) {
        throw errors.invalidParameter(
          `Param ${path}[title] must be a non-empty string of at most ${WELCOME_FLOW_LIMITS.quickReplyTitle} characters`,
        );
      }
      if (
        typeof payload !== 'string' ||
        payload === '' ||
        [...payload].length > WELCOME_FLOW_LIMITS.payload
      ) {
        throw errors.invalidParameter(
          `Param ${path}[payload] must be a non-empty string of at most ${WELCOME_FLOW_LIMITS.payload} characters`,
        );
      }
      return { content_type: 'text', title, payload };
    });
    return { message: { text, quick_replies: quickReplies } };
  });
}
