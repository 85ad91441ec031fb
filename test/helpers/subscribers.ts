import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { SUBSCRIBED_CHANNEL, type Subscribed } from '../../src/pubsub/live.ts';

export interface SubscriberWatch {
  /**
   * Resolves once igql established the next subscriber in this process, so that an event
   * posted from then on reaches it; rejects when none came within the time-out.
   */
  readonly established: Promise<void>;
  /** Stops waiting: the subscription failed or ended, and no subscriber will come. */
  cancel(): void;
}

/**
 * Watches for the next subscriber igql establishes in this process (`LiveEvents` publishes on
 * `SUBSCRIBED_CHANNEL` once the listener is attached and the bus subscription confirmed). Start
 * it before subscribing and await `established` after: the readiness signal that replaces a
 * sleep. Tests subscribe one at a time, so the next subscriber is theirs.
 */
export function watchSubscriber(timeoutMs = 5000): SubscriberWatch {
  let settle: (error?: Error) => void = () => {};
  const established = new Promise<void>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof (message as Subscribed).igId === 'string') settle();
    };
    const timer = setTimeout(
      () => settle(new Error(`no subscriber was established within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    settle = (error) => {
      clearTimeout(timer);
      unsubscribe(SUBSCRIBED_CHANNEL, onMessage);
      if (error) reject(error);
      else resolve();
    };
    subscribe(SUBSCRIBED_CHANNEL, onMessage);
  });
  return { established, cancel: () => settle() };
}
