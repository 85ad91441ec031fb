/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Whether igql can act for an account. */
export type AccountStatus =
  /** igql can read and send for this account. */
  | 'ACTIVE'
  /** Instagram refused the account’s token: someone must log in again (with Instagram, or with Facebook for an account of Facebook Login). */
  | 'REAUTH_REQUIRED';

/** What an attachment is. */
export type AttachmentKind =
  /** A voice message or audio file. */
  | 'AUDIO'
  /** A link Instagram could only show as a title and URL. */
  | 'FALLBACK'
  /** A file such as a PDF. */
  | 'FILE'
  /** An image, GIF or sticker (the heart sticker too). */
  | 'IMAGE'
  /** A shared Instagram post. */
  | 'POST'
  /** A shared reel. */
  | 'REEL'
  /** A shared link or post of another kind. */
  | 'SHARE'
  /** A shared story (`ig_story`, `story`). */
  | 'STORY'
  /** A story that mentions the account. */
  | 'STORY_MENTION'
  /** The story this message replies to. */
  | 'STORY_REPLY'
  /** A structured message: a generic template’s cards or a button template, as an app sent it. */
  | 'TEMPLATE'
  /** A type igql does not know yet, kept as Instagram sent it (`raw`). */
  | 'UNKNOWN'
  /** Something Instagram cannot show through the API; the message is unsupported. */
  | 'UNSUPPORTED'
  /** A video. */
  | 'VIDEO';

/** The kinds of inbox event, to filter `inboxEvents`. */
export type InboxEventType =
  /** The account’s status changed: `AccountStatusChangedEvent`. */
  | 'ACCOUNT_STATUS_CHANGED'
  /** Someone commented on the account’s media: `CommentReceivedEvent`. */
  | 'COMMENT_RECEIVED'
  /** Someone @mentioned the account: `MentionReceivedEvent`. */
  | 'MENTION_RECEIVED'
  /** The customer saw the conversation: `MessagesSeenEvent`. */
  | 'MESSAGES_SEEN'
  /** The customer unsent a message: `MessageDeletedEvent`. */
  | 'MESSAGE_DELETED'
  /** The customer edited a message: `MessageEditedEvent`. */
  | 'MESSAGE_EDITED'
  /** A customer wrote to the account: `MessageReceivedEvent`. */
  | 'MESSAGE_RECEIVED'
  /** The account sent a message: `MessageSentEvent`. */
  | 'MESSAGE_SENT'
  /** The customer opted in to messages: `OptinReceivedEvent`. */
  | 'OPTIN_RECEIVED'
  /** The customer tapped a button or menu item: `PostbackReceivedEvent`. */
  | 'POSTBACK_RECEIVED'
  /** A `publishMedia` job changed status: `PublishJobChangedEvent`. */
  | 'PUBLISH_JOB_CHANGED'
  /** The customer reacted or took a reaction off: `ReactionChangedEvent`. */
  | 'REACTION_CHANGED'
  /** The customer came through an ig.me link or an ad: `ReferralReceivedEvent`. */
  | 'REFERRAL_RECEIVED'
  /** Control of a conversation was passed, taken or asked for: `ThreadControlChangedEvent`. */
  | 'THREAD_CONTROL_CHANGED'
  /** Anything igql does not model yet: `UnknownEvent`. */
  | 'UNKNOWN';

/** How an account logged in, which decides how igql reaches it. Every query, mutation and subscription works for both. */
export type LoginKind =
  /** Facebook Login for Business (Instagram API with Facebook Login): graph.facebook.com, with the token of the Facebook Page the account is linked to; messaging goes through that Page. */
  | 'FACEBOOK'
  /** Business Login for Instagram (Instagram API with Instagram Login): graph.instagram.com, with the account’s Instagram token. */
  | 'INSTAGRAM';

/** The customer whose messages to mark as seen. */
export type MarkConversationSeenInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** The `Participant.id` of the customer. */
  recipientId: string | number;
};

/** Message tags (message sends only; sender actions take none). */
export type MessageTag =
  /** A person answers: allowed up to 7 days after the customer’s last message (needs Meta’s Human Agent feature). */
  | 'HUMAN_AGENT';

/** What a quick-reply button offers. */
export type QuickReplyContentType =
  /** A button with a title and a payload. */
  | 'TEXT'
  /** Offered the customer’s email address; refused since 2026-10-05. */
  | 'USER_EMAIL'
  /** Offered the customer’s phone number; refused since 2026-10-05. */
  | 'USER_PHONE_NUMBER';

/** One quick-reply button. */
export type QuickReplyInput = {
  /** What the button offers; TEXT needs `title` and `payload`. */
  contentType: QuickReplyContentType;
  /** Returned in the customer’s reply (TEXT only). */
  payload?: string | null | undefined;
  /** At most 20 characters (TEXT only). */
  title?: string | null | undefined;
};

/** The message to react to, and the reaction. */
export type ReactToMessageInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** Retrying with the same key within 24 hours returns the first result and sends nothing again. */
  idempotencyKey?: string | null | undefined;
  /** The `Message.id` to react to. */
  messageId: string | number;
  /** `love` (the default) or one emoji. */
  reaction?: string | null | undefined;
};

/** Whether a reaction was put on a message or taken off. */
export type ReactionAction =
  /** The customer reacted to the message. */
  | 'REACT'
  /** The customer took their reaction off the message. */
  | 'UNREACT';

/** Whether the account may answer now. */
export type ReplyWindowState =
  /** The customer must write first. */
  | 'CLOSED'
  /** Within 7 days: only a person may answer, with the `HUMAN_AGENT` tag. */
  | 'HUMAN_AGENT_ONLY'
  /** Within 24 hours of the customer’s last message: any message may be sent. */
  | 'OPEN';

/** The images to send, and to whom. */
export type SendImageMessageInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** Images uploaded with `uploadAttachment` (type IMAGE), sent after `urls`. */
  attachmentIds?: Array<string> | null | undefined;
  /** Retrying with the same key within 24 hours returns the first result and sends nothing again. */
  idempotencyKey?: string | null | undefined;
  /** The `Participant.id` of the customer. */
  recipientId: string | number;
  /** The `Message.id` of a message of this conversation to reply to: the customer sees it quoted. */
  replyToMessageId?: string | number | null | undefined;
  /** Only `HUMAN_AGENT`: a person answering within 7 days. */
  tag?: MessageTag | null | undefined;
  /** https URLs of PNG, JPEG or GIF images, sent first; with `attachmentIds`, 1 to 10 images in all. */
  urls?: Array<string> | null | undefined;
};

/** Whom to send the heart sticker to. */
export type SendLikeHeartInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** Retrying with the same key within 24 hours returns the first result and sends nothing again. */
  idempotencyKey?: string | null | undefined;
  /** The `Participant.id` of the customer. */
  recipientId: string | number;
  /** The `Message.id` of a message of this conversation to reply to: the customer sees it quoted. */
  replyToMessageId?: string | number | null | undefined;
  /** Only `HUMAN_AGENT`: a person answering within 7 days. */
  tag?: MessageTag | null | undefined;
};

/** The text and quick-reply buttons to send, and to whom. */
export type SendQuickRepliesInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** Retrying with the same key within 24 hours returns the first result and sends nothing again. */
  idempotencyKey?: string | null | undefined;
  /** 1 to 13. */
  quickReplies: Array<QuickReplyInput>;
  /** The `Participant.id` of the customer. */
  recipientId: string | number;
  /** The `Message.id` of a message of this conversation to reply to: the customer sees it quoted. */
  replyToMessageId?: string | number | null | undefined;
  /** Only `HUMAN_AGENT`: a person answering within 7 days. */
  tag?: MessageTag | null | undefined;
  /** At most 1000 UTF-8 bytes. */
  text: string;
};

/** The text to send, and to whom. */
export type SendTextMessageInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** Retrying with the same key within 24 hours returns the first result and sends nothing again. */
  idempotencyKey?: string | null | undefined;
  /** The `Participant.id` of the customer. */
  recipientId: string | number;
  /** The `Message.id` of a message of this conversation to reply to: the customer sees it quoted. */
  replyToMessageId?: string | number | null | undefined;
  /** Only `HUMAN_AGENT`: a person answering within 7 days. */
  tag?: MessageTag | null | undefined;
  /** At most 1000 UTF-8 bytes; links are fine. */
  text: string;
};

/** Whom to show the typing indicator to, or hide it from. */
export type SendTypingIndicatorInput = {
  /** The `Account.id` to send as. */
  accountId: string | number;
  /** On, or off (Instagram turns it off after 20 s or a send). */
  on: boolean;
  /** The `Participant.id` of the customer. */
  recipientId: string | number;
};

/** Why a mutation did not do what was asked. */
export type UserErrorCode =
  /** The idempotency key was used for other content. */
  | 'IDEMPOTENCY_CONFLICT'
  /** No such account, participant or message for this session. */
  | 'NOT_FOUND'
  /** Another app owns the conversation: take or request thread control first. */
  | 'NOT_THREAD_OWNER'
  /** The customer last wrote more than 24 hours ago. */
  | 'OUTSIDE_MESSAGING_WINDOW'
  /** The account is at Instagram’s limit; retry after `retryAfter` seconds. */
  | 'RATE_LIMITED'
  /** The account must log in again (with Instagram, or with Facebook for an account of Facebook Login). */
  | 'REAUTH_REQUIRED'
  /** The person cannot receive messages from the account now. */
  | 'RECIPIENT_UNAVAILABLE'
  /** Instagram did not answer, or failed. */
  | 'UPSTREAM_UNAVAILABLE'
  /** The input is invalid; nothing was sent. */
  | 'VALIDATION';

export type ReactMutationVariables = Exact<{
  input: ReactToMessageInput;
}>;


export type ReactMutation = { reactToMessage: { message: { id: string, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }> } | null, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export type MarkSeenMutationVariables = Exact<{
  input: MarkConversationSeenInput;
}>;


export type MarkSeenMutation = { markConversationSeen: { ok: boolean, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export type TypingMutationVariables = Exact<{
  input: SendTypingIndicatorInput;
}>;


export type TypingMutation = { sendTypingIndicator: { ok: boolean, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export type ConversationQueryVariables = Exact<{
  id: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConversationQuery = { node:
    | { __typename: 'Account' }
    | { __typename: 'Comment' }
    | { __typename: 'Conversation', historyComplete: boolean, id: string, updatedTime: string, messages: { nodes: Array<{ id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
            | { kind: AttachmentKind, type: string | null, url: string | null }
          >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } }, participants: Array<{ id: string, username: string | null, name: string | null, profilePicture: string | null }>, replyWindow: { state: ReplyWindowState, closesAt: string | null }, lastMessage: { nodes: Array<{ id: string, text: string | null, createdTime: string, isFromViewer: boolean | null, attachments: Array<
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
            | { kind: AttachmentKind }
          > }> } }
    | { __typename: 'Media' }
    | { __typename: 'Message' }
    | { __typename: 'PublishJob' }
   | null };

export type InboxEventsSubscriptionVariables = Exact<{
  accountId: string | number;
  after?: string | null | undefined;
}>;


export type InboxEventsSubscription = { inboxEvents:
    | { __typename: 'AccountStatusChangedEvent', status: string, reason: string | null, cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'CommentReceivedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'MentionReceivedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'MessageDeletedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'MessageEditedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'MessageReceivedEvent', quickReplyPayload: string | null, cursor: string, type: InboxEventType, occurredAt: string, message: { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
        >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null }, customer: { id: string, username: string | null } | null }
    | { __typename: 'MessageSentEvent', cursor: string, type: InboxEventType, occurredAt: string, message: { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
          | { kind: AttachmentKind, type: string | null, url: string | null }
        >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null }, customer: { id: string, username: string | null } | null }
    | { __typename: 'MessagesSeenEvent', mid: string, cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'OptinReceivedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'PostbackReceivedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'PublishJobChangedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'ReactionChangedEvent', mid: string, action: ReactionAction, reaction: string | null, emoji: string | null, cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'ReferralReceivedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'ThreadControlChangedEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
    | { __typename: 'UnknownEvent', cursor: string, type: InboxEventType, occurredAt: string, customer: { id: string, username: string | null } | null }
   };

export type MessageFieldsFragment = { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
    | { kind: AttachmentKind, type: string | null, url: string | null }
  >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null };

export type ConversationSummaryFragment = { id: string, updatedTime: string, participants: Array<{ id: string, username: string | null, name: string | null, profilePicture: string | null }>, replyWindow: { state: ReplyWindowState, closesAt: string | null }, lastMessage: { nodes: Array<{ id: string, text: string | null, createdTime: string, isFromViewer: boolean | null, attachments: Array<
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
        | { kind: AttachmentKind }
      > }> } };

type UserErrorFields_IdempotencyConflictError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_NotFoundError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_NotThreadOwnerError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_OutsideMessagingWindowError_Fragment = { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_RateLimitedError_Fragment = { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_ReauthRequiredError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_RecipientUnavailableError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_UpstreamUnavailableError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

type UserErrorFields_ValidationError_Fragment = { code: UserErrorCode, message: string, field: Array<string> | null };

export type UserErrorFieldsFragment =
  | UserErrorFields_IdempotencyConflictError_Fragment
  | UserErrorFields_NotFoundError_Fragment
  | UserErrorFields_NotThreadOwnerError_Fragment
  | UserErrorFields_OutsideMessagingWindowError_Fragment
  | UserErrorFields_RateLimitedError_Fragment
  | UserErrorFields_ReauthRequiredError_Fragment
  | UserErrorFields_RecipientUnavailableError_Fragment
  | UserErrorFields_UpstreamUnavailableError_Fragment
  | UserErrorFields_ValidationError_Fragment
;

export type InboxQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type InboxQuery = { viewer: { id: string, username: string, name: string | null, status: AccountStatus, conversations: { nodes: Array<{ id: string, updatedTime: string, participants: Array<{ id: string, username: string | null, name: string | null, profilePicture: string | null }>, replyWindow: { state: ReplyWindowState, closesAt: string | null }, lastMessage: { nodes: Array<{ id: string, text: string | null, createdTime: string, isFromViewer: boolean | null, attachments: Array<
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
              | { kind: AttachmentKind }
            > }> } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } } };

export type LoginStatusQueryVariables = Exact<{ [key: string]: never; }>;


export type LoginStatusQuery = { accounts: Array<{ id: string, username: string, loginKind: LoginKind, status: AccountStatus }> };

export type SendTextMutationVariables = Exact<{
  input: SendTextMessageInput;
}>;


export type SendTextMutation = { sendTextMessage: { message: { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
      >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null } | null, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export type SendImageMutationVariables = Exact<{
  input: SendImageMessageInput;
}>;


export type SendImageMutation = { sendImageMessage: { message: { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
      >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null } | null, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export type SendHeartMutationVariables = Exact<{
  input: SendLikeHeartInput;
}>;


export type SendHeartMutation = { sendLikeHeart: { message: { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
      >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null } | null, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export type SendQuickRepliesMutationVariables = Exact<{
  input: SendQuickRepliesInput;
}>;


export type SendQuickRepliesMutation = { sendQuickReplies: { message: { id: string, mid: string, text: string | null, createdTime: string, detailAvailable: boolean, isFromViewer: boolean | null, isUnsupported: boolean, from: { id: string, username: string | null } | null, attachments: Array<
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { previewUrl: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { title: string | null, kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
        | { kind: AttachmentKind, type: string | null, url: string | null }
      >, reactions: Array<{ reaction: string, emoji: string, by: { id: string, username: string | null } }>, replyTo: { id: string, text: string | null } | null } | null, userErrors: Array<
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { closesAt: string | null, code: UserErrorCode, message: string, field: Array<string> | null }
      | { retryAfter: number, code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
      | { code: UserErrorCode, message: string, field: Array<string> | null }
    > } };

export const MessageFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}}]} as unknown as DocumentNode<MessageFieldsFragment, unknown>;
export const ConversationSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConversationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Conversation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"updatedTime"}},{"kind":"Field","name":{"kind":"Name","value":"participants"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"profilePicture"}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyWindow"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"Field","alias":{"kind":"Name","value":"lastMessage"},"name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConversationSummaryFragment, unknown>;
export const UserErrorFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<UserErrorFieldsFragment, unknown>;
export const ReactDocument = {"__meta__":{"hash":"a7d392c2b5665a943c8d1f5925081eac2156bc389b856d0862a2e8c7861ec700"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"React"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ReactToMessageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reactToMessage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<ReactMutation, ReactMutationVariables>;
export const MarkSeenDocument = {"__meta__":{"hash":"f2a40565e9ba5609371aee06dd2b69c8d99e7f50bf543ba3fcdbf8b6bb5c05db"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"MarkSeen"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"MarkConversationSeenInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"markConversationSeen"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<MarkSeenMutation, MarkSeenMutationVariables>;
export const TypingDocument = {"__meta__":{"hash":"f1c1307b1486eda57a5033c0f0d01e073207377fd44ed833609504786f8d0f1f"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Typing"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendTypingIndicatorInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendTypingIndicator"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<TypingMutation, TypingMutationVariables>;
export const ConversationDocument = {"__meta__":{"hash":"f4725fe351d732f2d38c718618477826dbc243c3e97412f7756151a620cf5a03"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Conversation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"20"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Conversation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConversationSummary"}},{"kind":"Field","name":{"kind":"Name","value":"historyComplete"}},{"kind":"Field","name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConversationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Conversation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"updatedTime"}},{"kind":"Field","name":{"kind":"Name","value":"participants"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"profilePicture"}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyWindow"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"Field","alias":{"kind":"Name","value":"lastMessage"},"name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}}]} as unknown as DocumentNode<ConversationQuery, ConversationQueryVariables>;
export const InboxEventsDocument = {"__meta__":{"hash":"56256e7a23abe1f3fb4b437f53021607cc3d54de07aa9e547322e87fb3e7a32a"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"InboxEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accountId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"inboxEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"accountId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accountId"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"MessageReceivedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"quickReplyPayload"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"MessageSentEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"MessagesSeenEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"mid"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReactionChangedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AccountStatusChangedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}}]} as unknown as DocumentNode<InboxEventsSubscription, InboxEventsSubscriptionVariables>;
export const InboxDocument = {"__meta__":{"hash":"2d20564fbc17c5127731cb81e9c550404fd9ff00b13452bf43d54f1c093a86c8"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Inbox"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"20"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"conversations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConversationSummary"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConversationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Conversation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"updatedTime"}},{"kind":"Field","name":{"kind":"Name","value":"participants"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"profilePicture"}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyWindow"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"Field","alias":{"kind":"Name","value":"lastMessage"},"name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}}]}}]}}]}}]}}]} as unknown as DocumentNode<InboxQuery, InboxQueryVariables>;
export const LoginStatusDocument = {"__meta__":{"hash":"102f73073fe1aff1621150fa1aa8baee75d4c58d79474c5d5da6c5d958064f28"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"LoginStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accounts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"loginKind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<LoginStatusQuery, LoginStatusQueryVariables>;
export const SendTextDocument = {"__meta__":{"hash":"fed2b11c4bf2d1a82904faa863255a33dc7dcee39d9ea185d8c9bc84b31d38ef"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SendText"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendTextMessageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendTextMessage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<SendTextMutation, SendTextMutationVariables>;
export const SendImageDocument = {"__meta__":{"hash":"3380a5f2c16fb9397177d4eb340c8237e23e0fe70a72e100235ab635c5d6a457"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SendImage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendImageMessageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendImageMessage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<SendImageMutation, SendImageMutationVariables>;
export const SendHeartDocument = {"__meta__":{"hash":"1d38f613afae2fb398ef2cde3a6b92f6778dba7e276cc9eb0f5886e0906ac129"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SendHeart"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendLikeHeartInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendLikeHeart"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<SendHeartMutation, SendHeartMutationVariables>;
export const SendQuickRepliesDocument = {"__meta__":{"hash":"5668f95c4ef2d3801f2d349e0e3d4cbb703d6a72d80ad356d569263d5c2c4392"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SendQuickReplies"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendQuickRepliesInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendQuickReplies"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"MessageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UserErrorFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MessageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Message"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mid"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"createdTime"}},{"kind":"Field","name":{"kind":"Name","value":"detailAvailable"}},{"kind":"Field","name":{"kind":"Name","value":"isFromViewer"}},{"kind":"Field","name":{"kind":"Name","value":"isUnsupported"}},{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attachments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewUrl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StoryReplyAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReelAttachment"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reactions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reaction"}},{"kind":"Field","name":{"kind":"Name","value":"emoji"}},{"kind":"Field","name":{"kind":"Name","value":"by"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"replyTo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"text"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UserErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UserError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OutsideMessagingWindowError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"closesAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RateLimitedError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryAfter"}}]}}]}}]} as unknown as DocumentNode<SendQuickRepliesMutation, SendQuickRepliesMutationVariables>;