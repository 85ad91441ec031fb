/**
 * The Send API's wire format: the JSON bodies igql posts to `POST /<IG_ID>/messages`
 * (instagram-api.md §1). Keys are Meta's, in the order igql writes them.
 */

/** A Send API body: a message, a reaction or a sender action. */
export type SendBody = {
  /** The customer (`id`, an IGSID) or, for a private reply, the comment answered. */
  readonly recipient: { readonly id: string } | { readonly comment_id: string };
  readonly message?: MessageBody;
  readonly sender_action?: 'react' | 'unreact' | 'typing_on' | 'typing_off' | 'mark_seen';
  /** A reaction's message, and the reaction (`react` only). */
  readonly payload?: { readonly message_id: string; readonly reaction?: string };
  /** Set, with `tag`, only for a tagged message. */
  readonly messaging_type?: 'MESSAGE_TAG';
  readonly tag?: 'HUMAN_AGENT';
};

/** A body's `message`: text (with quick replies), one `attachment`, or several `attachments`. */
export type MessageBody = {
  readonly text?: string;
  readonly quick_replies?: readonly QuickReplyBody[];
  readonly attachment?: AttachmentBody;
  readonly attachments?: readonly AttachmentBody[];
};

/** A quick reply: `text` with a title and a payload, or `user_email`/`user_phone_number` alone. */
export type QuickReplyBody = {
  readonly content_type: string;
  readonly title?: string | null | undefined;
  readonly payload?: string | null | undefined;
};

/** An attachment: media by `url`, a post by `id`, a template, or the heart sticker (no payload). */
export type AttachmentBody = {
  readonly type: 'image' | 'audio' | 'video' | 'file' | 'like_heart' | 'MEDIA_SHARE' | 'template';
  readonly payload?: {
    readonly url?: string;
    readonly id?: string;
    readonly template_type?: 'generic' | 'button';
    /** A button template's text. */
    readonly text?: string;
    readonly elements?: readonly ElementBody[];
    readonly buttons?: readonly ButtonBody[];
  };
};

/** One card of a generic template. */
export type ElementBody = {
  readonly title: string;
  readonly subtitle?: string;
  readonly image_url?: string;
  readonly default_action?: { readonly type: 'web_url'; readonly url: string };
  readonly buttons?: readonly ButtonBody[];
};

/** A template button: it opens a URL or sends a postback. */
export type ButtonBody =
  | { readonly type: 'web_url'; readonly url: string; readonly title: string }
  | { readonly type: 'postback'; readonly payload: string; readonly title: string };
