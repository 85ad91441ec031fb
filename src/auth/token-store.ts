/** An Instagram professional account igql holds a token for. */
export interface StoredAccount {
  readonly igId: string;
  /** The Instagram User access token. Never logged, never returned. */
  readonly accessToken: string;
  readonly status: AccountStatus;
  /** When the token was issued and expires (ms since epoch), when known. */
  readonly issuedAt?: number;
  readonly expiresAt?: number;
}

/** `ACTIVE`, or `REAUTH_REQUIRED` once Instagram refused the token (190). */
export type AccountStatus = 'ACTIVE' | 'REAUTH_REQUIRED';

/** Where Instagram tokens live. In memory here; Redis with encryption at rest when configured. */
export interface TokenStore {
  get(igId: string): Promise<StoredAccount | undefined>;
  put(account: StoredAccount): Promise<void>;
  setStatus(igId: string, status: AccountStatus): Promise<void>;
  /** Every account held (background jobs: reconciliation, subscription watchdog). */
  list(): Promise<StoredAccount[]>;
}

/** One instance only: tokens die with the process. */
export class MemoryTokenStore implements TokenStore {
  readonly #accounts = new Map<string, StoredAccount>();

  async get(igId: string): Promise<StoredAccount | undefined> {
    return this.#accounts.get(igId);
  }

  async put(account: StoredAccount): Promise<void> {
    this.#accounts.set(account.igId, account);
  }

  async setStatus(igId: string, status: AccountStatus): Promise<void> {
    const account = this.#accounts.get(igId);
    if (account) this.#accounts.set(igId, { ...account, status });
  }

  async list(): Promise<StoredAccount[]> {
    return [...this.#accounts.values()];
  }
}
