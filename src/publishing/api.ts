import type { InstagramClient } from '../instagram/client.ts';
import { type Auth, callerOf } from '../instagram/graph.ts';

/** A container's `status_code` (IG Container reference). */
export type ContainerStatus = 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';

/** The container parameters of `POST /<IG_ID>/media` igql sends. */
export interface ContainerParams {
  readonly image_url?: string;
  readonly video_url?: string;
  readonly media_type?: 'REELS' | 'STORIES' | 'CAROUSEL' | 'VIDEO' | 'IMAGE';
  readonly is_carousel_item?: 'true';
  readonly share_to_feed?: 'true';
  readonly caption?: string;
  /** Comma-separated item container ids. */
  readonly children?: string;
}

/**
 * The content-publishing calls (instagram-api.md §13; Meta's Content Publishing guide), each one
 * Graph request through the one client (its error mapping, per-account throttling, time-out).
 * Writes are never retried: a container or a post made twice is worse than a failed job.
 */
export class PublishingApi {
  readonly #client: InstagramClient;

  constructor(client: InstagramClient) {
    this.#client = client;
  }

  /** `POST /<IG_ID>/media`: a new container's id. */
  async createContainer(auth: Auth, params: ContainerParams): Promise<string> {
    const { id } = await this.#client.call<{ id: string }>({
      method: 'POST',
      path: `${auth.igId}/media`,
      endpoint: '/{id}/media',
      ...callerOf(auth),
      query: { ...params },
    });
    return id;
  }

  /** `GET /<CONTAINER_ID>?fields=status_code,status`. */
  async containerStatus(
    auth: Auth,
    containerId: string,
  ): Promise<{ status_code?: ContainerStatus; status?: string }> {
    return this.#client.call({
      method: 'GET',
      path: encodeURIComponent(containerId),
      endpoint: '/{id}',
      ...callerOf(auth),
      query: { fields: 'status_code,status' },
    });
  }

  /** `POST /<IG_ID>/media_publish?creation_id=`: the published media's id. */
  async publish(auth: Auth, containerId: string): Promise<string> {
    const { id } = await this.#client.call<{ id: string }>({
      method: 'POST',
      path: `${auth.igId}/media_publish`,
      endpoint: '/{id}/media_publish',
      ...callerOf(auth),
      query: { creation_id: containerId },
    });
    return id;
  }
}
