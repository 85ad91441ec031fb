import { errors, GraphError } from './errors.ts';
import type { FieldRequest } from './fields.ts';
import { newMediaId } from './ids.ts';
import { plain, select } from './render.ts';
import type { SimAccount, SimMedia, Store } from './store.ts';
import { DAY } from './store.ts';

/**
 * Content publishing (instagram-api.md §13; Meta's Content Publishing guide, IG User Media, IG
 * Container, IG User Media Publish and Content Publishing Limit references):
 * `POST /<IG_ID>/media` creates a container, `GET /<CONTAINER_ID>?fields=status_code` follows
 * it, `POST /<IG_ID>/media_publish?creation_id=` publishes it, and
 * `GET /<IG_ID>/content_publishing_limit` reads the rolling 24-hour quota.
 */

type Json = Record<string, unknown>;

/**
 * Posts an account may publish through the API in a moving 24 hours; a carousel counts as one.
 * The guide says 100 today (older pages said 25 and 50): UNCONFIRMED, and igql reads the number
 * from `content_publishing_limit` rather than assuming it.
 */
export const PUBLISHING_LIMIT = 100;
/** How long a video container processes before it is FINISHED (simulated). */
export const VIDEO_PROCESSING_MS = 30_000;
/** Containers not published within 24 hours expire (IG Container reference). */
export const CONTAINER_LIFETIME_MS = DAY;
/** Captions: at most 2,200 characters, 30 hashtags and 20 @mentions. */
export const CAPTION_LIMITS = { characters: 2200, hashtags: 30, mentions: 20 } as const;
/** A carousel holds 2 to 10 items (the guide says up to 10; 20 for some accounts, UNCONFIRMED). */
export const CAROUSEL_ITEMS = { min: 2, max: 10 } as const;

export interface SimContainer {
  readonly id: string;
  readonly accountIgId: string;
  readonly kind: 'IMAGE' | 'VIDEO' | 'REELS' | 'STORIES' | 'CAROUSEL';
  readonly isCarouselItem: boolean;
  readonly url: string | undefined;
  readonly caption: string;
  readonly children: readonly string[];
  readonly createdTime: number;
  publishedMediaId: string | undefined;
}

type Status = 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';

const containersOf = new WeakMap<Store, Map<string, SimContainer>>();

/** The containers of a simulator's store. */
export function containers(store: Store): Map<string, SimContainer> {
  let map = containersOf.get(store);
  if (!map) {
    map = new Map();
    containersOf.set(store, map);
  }
  return map;
}

export function statusOf(store: Store, c: SimContainer): Status {
  if (c.publishedMediaId !== undefined) return 'PUBLISHED';
  const now = store.clock.now();
  if (now - c.createdTime >= CONTAINER_LIFETIME_MS) return 'EXPIRED';
  // The simulator fetches nothing: a host ending in `.invalid` is one that cannot be fetched.
  if (c.url !== undefined && new URL(c.url).hostname.endsWith('.invalid')) return 'ERROR';
  if (c.kind === 'CAROUSEL') {
    const items = c.children.map((id) => containers(store).get(id));
    const states = items.map((item) => (item ? statusOf(store, item) : 'ERROR'));
    if (states.includes('ERROR')) return 'ERROR';
    return states.every((s) => s === 'FINISHED') ? 'FINISHED' : 'IN_PROGRESS';
  }
  const video = c.kind !== 'IMAGE' && c.url !== undefined && /\.(mp4|mov)(\?|$)/i.test(c.url);
  return video && now - c.createdTime < VIDEO_PROCESSING_MS ? 'IN_PROGRESS' : 'FINISHED';
}

const invalid = (message: string) => errors.invalidParameter(message);

/** `POST /<IG_ID>/media` → `{"id":"<CONTAINER_ID>"}`. */
export function createContainer(
  store: Store,
  account: SimAccount,
  body: Readonly<Record<string, unknown>>,
): Json {
  const text = (name: string) => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') throw invalid(`Param ${name} must be a string`);
    return value;
  };
  const imageUrl = text('image_url');
  const videoUrl = text('video_url');
  const mediaType = text('media_type');
  const caption = typeof body.caption === 'string' ? body.caption : '';
  const isCarouselItem = body.is_carousel_item === true || body.is_carousel_item === 'true';
  for (const url of [imageUrl, videoUrl]) {
    if (url !== undefined && !(URL.canParse(url) && new URL(url).protocol === 'https:')) {
      throw invalid('The media URL must be a public https URL');
    }
  }
  checkCaption(caption);
  let kind: SimContainer['kind'];
  let children: string[] = [];
  if (mediaType === 'CAROUSEL') {
    if (imageUrl !== undefined || videoUrl !== undefined) {
      throw invalid('A carousel container takes children, not a media URL');
    }
    children = String(body.children ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    if (children.length < CAROUSEL_ITEMS.min || children.length > CAROUSEL_ITEMS.max) {
      throw invalid(
        `A carousel has ${CAROUSEL_ITEMS.min} to ${CAROUSEL_ITEMS.max} children (param children)`,
      );
    }
    for (const id of children) {
      const child = containers(store).get(id);
      if (!child || child.accountIgId !== account.igId || !child.isCarouselItem) {
        throw invalid(`Param children must name carousel item containers: ${id} is not one`);
      }
    }
    kind = 'CAROUSEL';
  } else {
    if ((imageUrl === undefined) === (videoUrl === undefined)) {
      throw invalid('Give exactly one of the parameters image_url and video_url');
    }
    if (mediaType === undefined) {
      if (videoUrl !== undefined) {
        // Feed videos are published as reels since 2023 (guide): media_type VIDEO is for items.
        throw invalid('A video needs media_type REELS or STORIES (or VIDEO for a carousel item)');
      }
      kind = 'IMAGE';
    } else if (mediaType === 'REELS' || mediaType === 'STORIES') {
      if (mediaType === 'REELS' && videoUrl === undefined) throw invalid('REELS needs video_url');
      kind = mediaType;
    } else if (mediaType === 'VIDEO' && isCarouselItem && videoUrl !== undefined) {
      kind = 'VIDEO';
    } else if (mediaType === 'IMAGE' && imageUrl !== undefined) {
      kind = 'IMAGE';
    } else {
      throw invalid(
        'Param media_type must be one of {IMAGE, VIDEO, REELS, STORIES, CAROUSEL} and fit the URL given',
      );
    }
  }
  const container: SimContainer = {
    id: `17${newMediaId().slice(2)}`,
    accountIgId: account.igId,
    kind,
    isCarouselItem,
    url: imageUrl ?? videoUrl,
    caption: isCarouselItem ? '' : caption,
    children,
    createdTime: store.clock.now(),
    publishedMediaId: undefined,
  };
  containers(store).set(container.id, container);
  return { id: container.id };
}

/** Captions: at most 2,200 characters, 30 hashtags and 20 @mentions (error 100, UNCONFIRMED wording). */
function checkCaption(caption: string): void {
  if ([...caption].length > CAPTION_LIMITS.characters) {
    throw invalid(`The caption cannot exceed ${CAPTION_LIMITS.characters} characters`);
  }
  if ((caption.match(/#[\p{L}\p{N}_]+/gu) ?? []).length > CAPTION_LIMITS.hashtags) {
    throw invalid(`The caption cannot contain more than ${CAPTION_LIMITS.hashtags} hashtags`);
  }
  if ((caption.match(/@[\p{L}\p{N}._]+/gu) ?? []).length > CAPTION_LIMITS.mentions) {
    throw invalid(`The caption cannot contain more than ${CAPTION_LIMITS.mentions} @mentions`);
  }
}

/** `GET /<CONTAINER_ID>?fields=id,status_code,status`. */
export function renderContainer(
  store: Store,
  c: SimContainer,
  fields: readonly FieldRequest[] | undefined,
): Json {
  const status = statusOf(store, c);
  return select('ShadowIGMediaBuilder', fields ?? plain(['id']), {
    id: () => c.id,
    status_code: () => status,
    status: () =>
      status === 'ERROR'
        ? 'Error: Media download has failed. The media URI doesn\u2019t meet our requirements.'
        : status === 'FINISHED'
          ? 'Finished: Media has been uploaded and it is ready to be published.'
          : status === 'IN_PROGRESS'
            ? 'In Progress: Media is still being processed.'
            : status === 'EXPIRED'
              ? 'Expired: The container was not published within 24 hours.'
              : 'Published: Media has been published.',
  });
}

/** Posts the account published through the API in the 24 hours before `now`. */
export function quotaUsage(store: Store, account: SimAccount, since: number): number {
  return [...containers(store).values()].filter(
    (c) =>
      c.accountIgId === account.igId &&
      !c.isCarouselItem &&
      c.publishedMediaId !== undefined &&
      (store.media.get(c.publishedMediaId)?.timestamp ?? 0) > since,
  ).length;
}

/** `POST /<IG_ID>/media_publish?creation_id=` → `{"id":"<MEDIA_ID>"}`. */
export function publishContainer(
  store: Store,
  account: SimAccount,
  body: Readonly<Record<string, unknown>>,
): Json {
  const id = body.creation_id === undefined ? undefined : String(body.creation_id);
  if (id === undefined) throw invalid('The parameter creation_id is required');
  const c = containers(store).get(id);
  if (!c || c.accountIgId !== account.igId || c.isCarouselItem) throw errors.unsupportedPost(id);
  const now = store.clock.now();
  // UNCONFIRMED code and subcode for the quota (the error-codes table's 2207042).
  if (quotaUsage(store, account, now - DAY) >= PUBLISHING_LIMIT) {
    throw new GraphError({
      status: 400,
      code: 9,
      subcode: 2207042,
      message: 'Application request limit reached',
      extra: {
        error_user_title: 'Publishing limit reached',
        error_user_msg: `You reached the maximum number of posts (${PUBLISHING_LIMIT}) that can be published through the API in 24 hours.`,
      },
    });
  }
  const status = statusOf(store, c);
  if (status !== 'FINISHED') {
    throw new GraphError({
      status: 400,
      code: 9007,
      subcode: 2207027,
      message:
        status === 'PUBLISHED'
          ? 'The media has already been published'
          : 'Media ID is not available',
      extra: {
        error_user_msg: 'The media is not ready for publishing, please wait for a moment',
      },
    });
  }
  const media = publishAs(store, account, c, now);
  c.publishedMediaId = media.id;
  return { id: media.id };
}

function publishAs(store: Store, account: SimAccount, c: SimContainer, now: number): SimMedia {
  const productType = c.kind === 'REELS' ? 'REELS' : c.kind === 'STORIES' ? 'STORY' : 'FEED';
  const isVideo = (x: SimContainer) =>
    x.kind === 'VIDEO' || x.kind === 'REELS' || /\.(mp4|mov)/i.test(x.url ?? '');
  const ids = c.children.map(() => newMediaId());
  const media = store.addMedia(account.igId, {
    mediaProductType: productType,
    mediaType: c.kind === 'CAROUSEL' ? 'CAROUSEL_ALBUM' : isVideo(c) ? 'VIDEO' : 'IMAGE',
    caption: c.caption,
    timestamp: now,
    children: ids,
  });
  c.children.forEach((childId, i) => {
    const child = containers(store).get(childId) as SimContainer;
    store.addMedia(account.igId, {
      id: ids[i],
      mediaType: isVideo(child) ? 'VIDEO' : 'IMAGE',
      timestamp: now,
      parentId: media.id,
    });
    child.publishedMediaId = ids[i];
  });
  return media;
}

/** `GET /<IG_ID>/content_publishing_limit?fields=quota_usage,config[&since=]`. */
export function publishingLimit(
  store: Store,
  account: SimAccount,
  query: URLSearchParams,
  fields: readonly FieldRequest[] | undefined,
): Json {
  const now = store.clock.now();
  const sinceParam = query.get('since');
  let since = now - DAY;
  if (sinceParam !== null) {
    const seconds = Number(sinceParam);
    if (!Number.isInteger(seconds) || seconds * 1000 < now - DAY) {
      throw invalid('Param since must be a Unix timestamp no older than 24 hours');
    }
    since = seconds * 1000;
  }
  const entry = select('ContentPublishingLimit', fields ?? plain(['quota_usage']), {
    quota_usage: () => quotaUsage(store, account, since),
    config: () => ({ quota_total: PUBLISHING_LIMIT, quota_duration: DAY / 1000 }),
  });
  return { data: [entry] };
}
