/**
 * The Send API's wire format: the JSON bodies igql posts to `POST /<IG_ID>/messages`, and the
 * attachment upload's to `POST /<IG_ID>/message_attachments` (instagram-api.md §1, §10). Keys are
 * Meta's, in the order igql writes them.
 */

/** A Send API body: a message, a reaction or a sender action. */
export type SendBody = {
  /** The customer (`id`, an IGSID) or, for a private reply, the comment answered. */
  readonly recipient: { readonly id: string } | { readonly comment_id: string };
  readonly message?: MessageBody;
  /**
   * The message this one replies to (instagram-api.md §10: top level, beside `recipient` and
   * `message`; Instagram Login since 2026-09-21). Message sends only.
   */
  readonly reply_to?: { readonly mid: string };
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

/**
 * A quick reply: `text` with a title and a payload. (`user_email` and `user_phone_number` were
 * disabled for Instagram on 2026-10-05, instagram-api.md §10: igql no longer sends them.)
 */
export type QuickReplyBody = {
  readonly content_type: string;
  readonly title?: string | null | undefined;
  readonly payload?: string | null | undefined;
};

/**
 * An attachment: media by `url` or by an uploaded `attachment_id`, a post by `id`, a template, or
 * the heart sticker (no payload).
 */
export type AttachmentBody = {
  readonly type: 'image' | 'audio' | 'video' | 'file' | 'like_heart' | 'MEDIA_SHARE' | 'template';
  readonly payload?: {
    readonly url?: string;
    /** An id from the attachment upload API (`UploadBody`), instead of `url`. */
    readonly attachment_id?: string;
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

/** What the attachment upload API stores: a kind of media Instagram can send. */
export type UploadType = 'image' | 'audio' | 'video' | 'file';

/**
 * `POST /<IG_ID>/message_attachments` (instagram-api.md §10, PM): the media by `url`, kept for
 * reuse. A file uploaded from igql itself goes as multipart instead: this `message` as a JSON
 * form field without `url`, and the bytes in a `filedata` part (Meta's attachment upload API).
 */
export type UploadBody = {
  readonly message: {
    readonly attachment: {
      readonly type: UploadType;
      readonly payload: { readonly url?: string; readonly is_reusable: true };
    };
  };
};

/** The upload API's answer (the attachment-upload reference; UNCONFIRMED for Instagram Login). */
export interface UploadResponse {
  readonly attachment_id?: string;
}
