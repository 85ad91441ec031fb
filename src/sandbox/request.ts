/** One request as the simulator reads it. */
export interface SimRequest {
  /**
   * Which of Meta's hosts the request stands for: `instagram` (graph.instagram.com and the
   * Instagram OAuth hosts), or `facebook` for paths under `/facebook` (graph.facebook.com and the
   * Facebook Login dialog: `FACEBOOK_GRAPH_URL` = `<simulator>/facebook` in sandbox mode).
   */
  readonly host: 'instagram' | 'facebook';
  readonly method: string;
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
  readonly form: URLSearchParams;
  /** A `multipart/form-data` body: its fields are in `body`, its files in `files`. */
  readonly multipart: boolean;
  /** The files of a multipart body, by part name (the upload's `filedata`). */
  readonly files: ReadonlyMap<string, File>;
  readonly authorization: string | undefined;
  readonly versioned: boolean;
  /** `v25.0`, …; undefined for an unversioned path. */
  readonly version: string | undefined;
}

/** One answer as the simulator writes it (a 302's `body` is its location). */
export type SimAnswer = { status: number; body: unknown; headers?: Record<string, string> };
