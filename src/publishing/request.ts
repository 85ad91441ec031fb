import type { PublishRequest } from './jobs.ts';

/** Captions: at most 2,200 characters, 30 hashtags and 20 @mentions (IG User Media reference). */
export const CAPTION_LIMITS = { characters: 2200, hashtags: 30, mentions: 20 } as const;
/** A carousel holds 2 to 10 items (Content Publishing guide). */
export const CAROUSEL_ITEMS = { min: 2, max: 10 } as const;

/** One refused input: its path and igql's words. */
export interface Invalid {
  readonly field: readonly string[];
  readonly message: string;
}

/** `publishMedia`'s input, as GraphQL hands it over. */
export interface PublishInput {
  readonly type: PublishRequest['type'];
  readonly imageUrl?: string | null | undefined;
  readonly videoUrl?: string | null | undefined;
  readonly caption?: string | null | undefined;
  readonly items?:
    | readonly { readonly imageUrl?: string | null; readonly videoUrl?: string | null }[]
    | null
    | undefined;
}

/**
 * Checks the input as Instagram would (before any call): the URLs each type takes, public https
 * URLs, the caption's limits, a carousel's size. The request, or what is wrong with it.
 */
export function checkPublishInput(
  input: PublishInput,
): { ok: true; request: PublishRequest } | { ok: false; errors: Invalid[] } {
  const errors: Invalid[] = [];
  const problem = (path: readonly (string | number)[], message: string) =>
    errors.push({
      field: ['input', ...path.map(String)],
      message: `input.${path.join('.')} ${message}`,
    });
  const url = (path: readonly (string | number)[], value: string | null | undefined) => {
    if (value == null) return null;
    if (!(URL.canParse(value) && new URL(value).protocol === 'https:')) {
      problem(path, 'must be a public https URL');
    }
    return value;
  };
  const imageUrl = url(['imageUrl'], input.imageUrl);
  const videoUrl = url(['videoUrl'], input.videoUrl);
  const caption = input.caption ?? null;
  const items = input.items ?? [];
  const { type } = input;
  const onlyOne = (needs: 'image' | 'video' | 'either') => {
    if (needs !== 'video' && needs !== 'either' && imageUrl === null)
      problem(['imageUrl'], `is required for ${type}`);
    if (needs === 'video' && videoUrl === null) problem(['videoUrl'], `is required for ${type}`);
    if (needs === 'image' && videoUrl !== null) problem(['videoUrl'], `is not taken by ${type}`);
    if (needs === 'video' && imageUrl !== null) problem(['imageUrl'], `is not taken by ${type}`);
    if (needs === 'either' && (imageUrl === null) === (videoUrl === null))
      problem(['imageUrl'], `or videoUrl: give exactly one for ${type}`);
    if (items.length > 0) problem(['items'], `are only for CAROUSEL`);
  };
  if (type === 'IMAGE') onlyOne('image');
  else if (type === 'VIDEO' || type === 'REEL') onlyOne('video');
  else if (type === 'STORY') {
    onlyOne('either');
    if (caption !== null) problem(['caption'], 'is not taken by a story');
  } else {
    if (imageUrl !== null || videoUrl !== null) {
      problem([imageUrl !== null ? 'imageUrl' : 'videoUrl'], 'is not taken by CAROUSEL: use items');
    }
    if (items.length < CAROUSEL_ITEMS.min || items.length > CAROUSEL_ITEMS.max) {
      problem(['items'], `must hold ${CAROUSEL_ITEMS.min} to ${CAROUSEL_ITEMS.max} items`);
    }
    items.forEach((item, i) => {
      const image = url(['items', i, 'imageUrl'], item.imageUrl);
      const video = url(['items', i, 'videoUrl'], item.videoUrl);
      if ((image === null) === (video === null)) {
        problem(['items', i], 'must give exactly one of imageUrl and videoUrl');
      }
    });
  }
  if (caption !== null) {
    if ([...caption].length > CAPTION_LIMITS.characters)
      problem(['caption'], `must be at most ${CAPTION_LIMITS.characters} characters`);
    if ((caption.match(/#[\p{L}\p{N}_]+/gu) ?? []).length > CAPTION_LIMITS.hashtags)
      problem(['caption'], `must hold at most ${CAPTION_LIMITS.hashtags} hashtags`);
    if ((caption.match(/@[\p{L}\p{N}._]+/gu) ?? []).length > CAPTION_LIMITS.mentions)
      problem(['caption'], `must hold at most ${CAPTION_LIMITS.mentions} @mentions`);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    request: {
      type,
      imageUrl,
      videoUrl,
      caption,
      items: items.map((item) => ({
        imageUrl: item.imageUrl ?? null,
        videoUrl: item.videoUrl ?? null,
      })),
    },
  };
}
