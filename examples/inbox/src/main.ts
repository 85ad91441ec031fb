import type { Client, CombinedError } from '@urql/core';
import {
  ConversationDocument,
  type ConversationSummaryFragment,
  InboxDocument,
  InboxEventsDocument,
  type InboxEventsSubscription,
  LoginStatusDocument,
  MarkSeenDocument,
  type MessageFieldsFragment,
  ReactDocument,
  type ReplyWindowState,
  SendHeartDocument,
  SendImageDocument,
  SendQuickRepliesDocument,
  SendTextDocument,
  TypingDocument,
  type UserErrorFieldsFragment,
} from '../../../schema/generated/graphql.ts';
import { createInboxClient, type LiveState } from './client.ts';
import { liveErrorNotice, type Notice, requestErrorNotice, userErrorNotice } from './errors.ts';
import { demoSession } from './session.ts';

type Participant = ConversationSummaryFragment['participants'][number];
type InboxEvent = InboxEventsSubscription['inboxEvents'];
interface ReplyWindow {
  state: ReplyWindowState;
  closesAt: string | null;
}

/** The conversation on screen: its messages oldest first, as a person reads them. */
interface Thread {
  readonly id: string;
  readonly customer: Participant;
  messages: MessageFieldsFragment[];
  olderCursor: string | null;
  window: ReplyWindow;
  /** The mid of the message the customer last read up to, when they read since it opened. */
  seenMid: string | null;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let client: Client;
let accountId = '';
let viewerUsername = '';
let conversations: ConversationSummaryFragment[] = [];
/** Where the next page of conversations starts; null when the list is whole. */
let moreCursor: string | null = null;
let thread: Thread | undefined;
let replyTo: MessageFieldsFragment | undefined;

const WINDOW_LABELS: Record<ReplyWindowState, string> = {
  OPEN: 'Open',
  HUMAN_AGENT_ONLY: 'Human agent only',
  CLOSED: 'Closed: the customer must write first',
};

const time = (iso: string | null) =>
  iso ? new Date(iso).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' }) : '';

function windowLabel(window: ReplyWindow): string {
  const label = WINDOW_LABELS[window.state];
  return window.closesAt ? `${label} until ${time(window.closesAt)}` : label;
}

function notify(notice: Notice | undefined): void {
  const box = $('notice');
  box.replaceChildren();
  box.hidden = !notice;
  if (!notice) return;
  box.append(notice.text);
  if (notice.action) {
    const link = Object.assign(document.createElement('a'), {
      href: notice.action.href,
      textContent: notice.action.label,
    });
    box.append(' ', link);
  }
}

/** The customer of a conversation: the participant who is not the account. */
const customerOf = (c: ConversationSummaryFragment): Participant | undefined =>
  c.participants.find((p) => p.username !== viewerUsername) ?? c.participants[0];

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

// ---- The conversation list ------------------------------------------------------------------

function renderList(): void {
  $('conversations').replaceChildren(
    ...conversations.map((c) => {
      const customer = customerOf(c);
      const last = c.lastMessage.nodes[0];
      const preview = last
        ? (last.text ?? (last.attachments[0] ? `[${last.attachments[0].kind.toLowerCase()}]` : ''))
        : '';
      const item = el(
        'li',
        { dataset: { id: c.id, window: c.replyWindow.state } },
        el(
          'button',
          { type: 'button', className: c.id === thread?.id ? 'active' : '' },
          el('strong', { className: 'who' }, customer?.username ?? customer?.name ?? 'Someone'),
          el('span', { className: 'preview' }, `${last?.isFromViewer ? 'You: ' : ''}${preview}`),
          el(
            'span',
            { className: `badge ${c.replyWindow.state.toLowerCase()}` },
            WINDOW_LABELS[c.replyWindow.state],
          ),
        ),
      );
      item.querySelector('button')?.addEventListener('click', () => void openConversation(c.id));
      return item;
    }),
  );
}

/** The first page of conversations, or with `after` the next one, added below. */
async function loadInbox(after?: string): Promise<void> {
  const result = await client.query(InboxDocument, { first: 20, after }).toPromise();
  if (result.error || !result.data) {
    notify(result.error ? requestErrorNotice(result.error) : undefined);
    return;
  }
  const { viewer } = result.data;
  viewerUsername = viewer.username;
  $('account').textContent = viewer.name ? `${viewer.name} (@${viewer.username})` : viewer.username;
  if (viewer.status === 'REAUTH_REQUIRED') {
    notify({
      text: 'Instagram needs this account to log in again.',
      action: { label: 'Log in again', href: '/auth/instagram/login' },
    });
  }
  const page = viewer.conversations;
  conversations = after ? [...conversations, ...page.nodes] : page.nodes;
  moreCursor = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
  $('more').hidden = moreCursor === null;
  renderList();
}

// ---- The open conversation ------------------------------------------------------------------

function renderMessage(m: MessageFieldsFragment): HTMLLIElement {
  const item = el('li', {
    className: `message ${m.isFromViewer ? 'outgoing' : 'incoming'}`,
    dataset: { mid: m.mid },
  });
  if (!m.detailAvailable) {
    item.append(
      el(
        'p',
        { className: 'muted' },
        'An older message: Instagram gives its detail for the 20 newest only.',
      ),
    );
    return item;
  }
  if (m.replyTo) item.append(el('blockquote', {}, m.replyTo.text ?? 'a message'));
  if (m.text !== null) item.append(el('p', { className: 'text' }, m.text));
  for (const a of m.attachments) {
    if (a.type === 'like_heart') item.append(el('p', { className: 'heart' }, '❤'));
    else if (a.kind === 'IMAGE' && a.url)
      item.append(el('img', { src: a.url, alt: 'Image', loading: 'lazy' }));
    else {
      const title = 'title' in a && a.title ? `: ${a.title}` : '';
      const label = `${a.kind.toLowerCase().replace('_', ' ')}${title}`;
      const href = webLink(a.url);
      item.append(
        href
          ? el('a', { href, target: '_blank', rel: 'noreferrer' }, label)
          : el('span', { className: 'muted' }, label),
      );
    }
  }
  if (m.isUnsupported)
    item.append(el('p', { className: 'muted' }, 'Instagram can’t show this message here.'));
  const reactions = m.reactions.map((r) => r.emoji).join(' ');
  item.append(
    el(
      'footer',
      {},
      el('time', { dateTime: m.createdTime }, time(m.createdTime)),
      reactions ? el('span', { className: 'reactions' }, reactions) : '',
      actionButton('Reply', () => startReply(m)),
      m.isFromViewer ? '' : actionButton('❤', () => void react(m), 'React with a heart'),
    ),
  );
  return item;
}

/** An attachment's URL as a link only when it is a web page's (http: or https:, not `javascript:`). */
function webLink(url: string | null): string | undefined {
  const parsed = url ? URL.parse(url) : null;
  return parsed?.protocol === 'http:' || parsed?.protocol === 'https:' ? parsed.href : undefined;
}

const actionButton = (label: string, onClick: () => void, title = label) => {
  const button = el('button', { type: 'button', className: 'link', title }, label);
  button.addEventListener('click', onClick);
  return button;
};

/** Shows the open conversation, at its newest message unless `keepScroll` (older ones added). */
function renderThread(keepScroll = false): void {
  if (!thread) return;
  $('thread').hidden = false;
  $('empty').hidden = true;
  const list = $('messages');
  const fromBottom = list.scrollHeight - list.scrollTop;
  $('customer').textContent = thread.customer.username ?? thread.customer.name ?? 'Someone';
  $('window').textContent = windowLabel(thread.window);
  $('window').dataset.state = thread.window.state;
  $('older').hidden = thread.olderCursor === null;
  $('messages').replaceChildren(...thread.messages.map(renderMessage));
  // "Seen" under the agent's last message once the customer read up to it: a read of an older
  // message says nothing of a newer send.
  const { messages, seenMid } = thread;
  const lastSent = messages.findLastIndex((m) => m.isFromViewer);
  const readUpTo = messages.findIndex((m) => m.mid === seenMid);
  $('seen').hidden = !(lastSent >= 0 && lastSent === messages.length - 1 && readUpTo >= lastSent);
  list.scrollTop = keepScroll ? list.scrollHeight - fromBottom : list.scrollHeight;
}

async function openConversation(id: string): Promise<void> {
  const result = await client.query(ConversationDocument, { id, first: 20 }).toPromise();
  const node = result.data?.node;
  if (result.error || node?.__typename !== 'Conversation') {
    notify(
      result.error
        ? requestErrorNotice(result.error)
        : { text: 'This conversation no longer exists.' },
    );
    return;
  }
  const summary = conversations.find((c) => c.id === id) ?? node;
  const customer = customerOf(summary);
  if (!customer) return;
  notify(undefined);
  replyTo = undefined;
  renderReplying();
  thread = {
    id,
    customer,
    messages: [...node.messages.nodes].reverse(),
    olderCursor: node.messages.pageInfo.hasNextPage
      ? (node.messages.pageInfo.endCursor ?? null)
      : null,
    window: node.replyWindow,
    seenMid: null,
  };
  renderList();
  renderThread();
  void markSeen();
}

async function loadOlder(): Promise<void> {
  if (!thread?.olderCursor) return;
  const open = thread;
  const result = await client
    .query(ConversationDocument, { id: open.id, first: 20, after: open.olderCursor })
    .toPromise();
  const node = result.data?.node;
  if (result.error || node?.__typename !== 'Conversation') {
    notify(result.error ? requestErrorNotice(result.error) : undefined);
    return;
  }
  open.messages = [...[...node.messages.nodes].reverse(), ...open.messages];
  open.olderCursor = node.messages.pageInfo.hasNextPage
    ? (node.messages.pageInfo.endCursor ?? null)
    : null;
  if (thread === open) renderThread(true);
}

/** Adds a message to the open conversation (once: a send and its echo name the same mid). */
function addMessage(m: MessageFieldsFragment): void {
  if (!thread || thread.messages.some((known) => known.mid === m.mid)) return;
  thread.messages.push(m);
  renderThread();
}

// ---- Sending ------------------------------------------------------------------------------

/**
 * The idempotency key of what the composer holds, by its content: the same while a send of it
 * may have gone out unanswered (a lost connection, a request error), so that trying again cannot
 * send it twice; a new one once a send of it was answered, or for other content.
 */
let composed: { readonly content: string; readonly key: string } | undefined;

/**
 * A send's input: `content` to the open conversation's customer, as a reply when one is chosen,
 * with HUMAN_AGENT when only a person may answer.
 */
function sendInput<T extends object>(content: T) {
  if (!thread) throw new Error('no conversation open');
  const input = {
    accountId,
    recipientId: thread.customer.id,
    ...(replyTo ? { replyToMessageId: replyTo.id } : {}),
    ...(thread.window.state === 'HUMAN_AGENT_ONLY' ? { tag: 'HUMAN_AGENT' as const } : {}),
    ...content,
  };
  const fingerprint = JSON.stringify(input);
  if (composed?.content !== fingerprint) {
    composed = { content: fingerprint, key: crypto.randomUUID() };
  }
  return { ...input, idempotencyKey: composed.key };
}

interface Sent {
  readonly message: MessageFieldsFragment | null;
  readonly userErrors: readonly UserErrorFieldsFragment[];
}

/** Runs a send and shows what came of it; true when the message went out. */
async function send(
  run: () => Promise<{ error?: CombinedError; payload?: Sent }>,
): Promise<boolean> {
  const buttons = [...$('composer').querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  try {
    const { error, payload } = await run();
    // Answered (sent, or refused with a reason): the next send is another message.
    if (!error) composed = undefined;
    const userError = payload?.userErrors[0];
    if (error || userError || !payload?.message) {
      notify(
        error ? requestErrorNotice(error) : userError ? userErrorNotice(userError) : undefined,
      );
      return false;
    }
    notify(undefined);
    addMessage(payload.message);
    replyTo = undefined;
    renderReplying();
    return true;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

async function sendText(): Promise<void> {
  const input = $<HTMLInputElement>('text');
  const text = input.value.trim();
  if (!text) return;
  const sent = await send(async () => {
    const r = await client.mutation(SendTextDocument, { input: sendInput({ text }) }).toPromise();
    return { error: r.error, payload: r.data?.sendTextMessage };
  });
  if (sent) input.value = '';
}

async function sendHeart(): Promise<void> {
  await send(async () => {
    const r = await client.mutation(SendHeartDocument, { input: sendInput({}) }).toPromise();
    return { error: r.error, payload: r.data?.sendLikeHeart };
  });
}

async function sendImage(): Promise<void> {
  const input = $<HTMLInputElement>('image-url');
  const url = input.value.trim();
  if (!url) return;
  const sent = await send(async () => {
    const r = await client
      .mutation(SendImageDocument, { input: sendInput({ urls: [url] }) })
      .toPromise();
    return { error: r.error, payload: r.data?.sendImageMessage };
  });
  if (sent) input.value = '';
}

async function sendQuickReplies(): Promise<void> {
  const text = $<HTMLInputElement>('text').value.trim();
  const titles = $<HTMLInputElement>('quick')
    .value.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (!text || titles.length === 0) {
    notify({ text: 'Write the message, and the quick replies separated by commas.' });
    return;
  }
  const quickReplies = titles.map((title) => ({
    contentType: 'TEXT' as const,
    title,
    payload: title.toUpperCase().replace(/\W+/g, '_'),
  }));
  const sent = await send(async () => {
    const r = await client
      .mutation(SendQuickRepliesDocument, { input: sendInput({ text, quickReplies }) })
      .toPromise();
    return { error: r.error, payload: r.data?.sendQuickReplies };
  });
  if (sent) {
    $<HTMLInputElement>('text').value = '';
    $<HTMLInputElement>('quick').value = '';
  }
}

async function react(m: MessageFieldsFragment): Promise<void> {
  const r = await client
    .mutation(ReactDocument, {
      input: { accountId, messageId: m.id, idempotencyKey: crypto.randomUUID() },
    })
    .toPromise();
  const payload = r.data?.reactToMessage;
  const userError = payload?.userErrors[0];
  if (r.error || userError) {
    notify(
      r.error ? requestErrorNotice(r.error) : userError ? userErrorNotice(userError) : undefined,
    );
    return;
  }
  if (payload?.message) {
    m.reactions = payload.message.reactions;
    renderThread();
  }
}

function startReply(m: MessageFieldsFragment): void {
  replyTo = m;
  renderReplying();
  $('text').focus();
}

function renderReplying(): void {
  $('replying').hidden = !replyTo;
  $('replying-text').textContent = replyTo?.text ?? 'a message';
}

/** Marks the customer's messages seen while the page is in front of the agent. */
async function markSeen(): Promise<void> {
  if (!thread || document.visibilityState !== 'visible') return;
  await client
    .mutation(MarkSeenDocument, { input: { accountId, recipientId: thread.customer.id } })
    .toPromise();
}

/** The typing indicator, at most every 10 s while the agent types (Instagram drops it after 20 s). */
let typingSince = 0;
async function typing(): Promise<void> {
  if (!thread || Date.now() - typingSince < 10_000) return;
  typingSince = Date.now();
  await client
    .mutation(TypingDocument, { input: { accountId, recipientId: thread.customer.id, on: true } })
    .toPromise();
}

// ---- Live events --------------------------------------------------------------------------

function onEvent(event: InboxEvent): void {
  const customerId = event.customer?.id;
  const inThread = thread !== undefined && customerId === thread.customer.id;
  const listed = conversations.find((c) => c.participants.some((p) => p.id === customerId));
  switch (event.__typename) {
    case 'MessageReceivedEvent':
    case 'MessageSentEvent': {
      const received = event.__typename === 'MessageReceivedEvent';
      const window: ReplyWindow | undefined = received
        ? {
            state: 'OPEN',
            closesAt: new Date(Date.parse(event.occurredAt) + 24 * 3600_000).toISOString(),
          }
        : undefined;
      if (listed) {
        listed.lastMessage = { nodes: [event.message] };
        if (window) listed.replyWindow = window;
        conversations = [listed, ...conversations.filter((c) => c !== listed)];
        renderList();
      } else if (received) {
        void loadInbox(); // a new conversation: read the list again
      }
      if (inThread && thread) {
        if (window) thread.window = window;
        addMessage(event.message);
        if (received) void markSeen();
      }
      return;
    }
    case 'MessagesSeenEvent':
      if (inThread && thread) {
        thread.seenMid = event.mid;
        renderThread();
      }
      return;
    case 'ReactionChangedEvent': {
      const message = thread?.messages.find((m) => m.mid === event.mid);
      if (!inThread || !message || !event.customer) return;
      const others = message.reactions.filter((r) => r.by.id !== customerId);
      const by = { id: event.customer.id, username: event.customer.username };
      message.reactions =
        event.action === 'REACT' && event.emoji
          ? [...others, { reaction: event.reaction ?? event.emoji, emoji: event.emoji, by }]
          : others;
      renderThread();
      return;
    }
    case 'AccountStatusChangedEvent':
      if (event.status === 'REAUTH_REQUIRED') {
        notify({
          text: 'Instagram needs this account to log in again.',
          action: { label: 'Log in again', href: '/auth/instagram/login' },
        });
      }
      return;
  }
}

const LIVE_LABELS: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Offline: reconnecting…',
  ended: 'Live updates stopped: reload the page',
};

/** Called once the websocket first connects, or fails (and will try again). */
let contacted = () => {};

function showLive(state: LiveState): void {
  $('live').textContent = LIVE_LABELS[state];
  $('live').dataset.state = state;
  if (state !== 'connecting') contacted();
}

/**
 * Reads the list and the open conversation again: the websocket came back before any event gave
 * a cursor to resume from. New messages are added (by mid, so never twice); older pages stay.
 */
async function readAgain(): Promise<void> {
  await loadInbox();
  const open = thread;
  if (!open) return;
  const result = await client.query(ConversationDocument, { id: open.id, first: 20 }).toPromise();
  const node = result.data?.node;
  if (thread !== open || node?.__typename !== 'Conversation') return;
  const known = new Set(open.messages.map((m) => m.mid));
  open.messages.push(...[...node.messages.nodes].reverse().filter((m) => !known.has(m.mid)));
  open.window = node.replyWindow;
  renderThread();
}

// ---- Start --------------------------------------------------------------------------------

async function start(): Promise<void> {
  client = createInboxClient(await demoSession(), {
    live: showLive,
    missed: () => void readAgain(),
  });
  // The session's accounts: this page acts for the first (the one `viewer` is).
  const status = await client.query(LoginStatusDocument, {}).toPromise();
  const account = status.data?.accounts[0];
  if (!account) {
    notify(
      status.error ? requestErrorNotice(status.error) : { text: 'This session has no account.' },
    );
    return;
  }
  accountId = account.id;
  // Live events first, then the first read once the websocket is there (or failing): nothing
  // that happens after the read is missed, and what happens meanwhile, which may come both
  // ways, is shown once (messages merge by mid).
  const firstContact = new Promise<void>((resolve) => {
    contacted = resolve;
  });
  client.subscription(InboxEventsDocument, { accountId, after: null }).subscribe((result) => {
    if (result.data) onEvent(result.data.inboxEvents);
    else if (result.error) notify(liveErrorNotice(result.error));
  });
  await firstContact;
  await loadInbox();
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    void sendText();
  });
  $('heart').addEventListener('click', () => void sendHeart());
  $('send-image').addEventListener('click', () => void sendImage());
  $('send-quick').addEventListener('click', () => void sendQuickReplies());
  $('older').addEventListener('click', () => void loadOlder());
  $('more').addEventListener('click', () => {
    if (moreCursor) void loadInbox(moreCursor);
  });
  $('cancel-reply').addEventListener('click', () => {
    replyTo = undefined;
    renderReplying();
  });
  $('text').addEventListener('input', () => void typing());
}

start().catch(() =>
  notify({ text: 'The inbox could not start: is igql running in sandbox mode?' }),
);
