import type { SimAnswer, SimRequest } from './simulator.ts';
import type { Store } from './store.ts';

export interface FacebookLoginOptions {
  readonly store: Store;
  /** The Meta app id the dialog expects as `client_id`. */
  readonly appId: string;
  /** Checks `client_secret` of the code exchange. */
  readonly appSecret: string;
  /** Redirect URIs the app registered; undefined = any. */
  readonly redirectUris?: readonly string[];
}

/**
 * Facebook Login for Business as the simulator serves it, on its `facebook` host: the Login
 * dialog, the code exchange, the long-lived exchange and the user's Pages (issue 19).
 */
export class FacebookLogin {
  readonly #o: FacebookLoginOptions;

  constructor(options: FacebookLoginOptions) {
    this.#o = options;
  }

  /** The answer to a request on the facebook host that is Login's, or undefined when it is not. */
  route(_r: SimRequest): SimAnswer | undefined {
    void this.#o;
    return undefined;
  }
}
