import type { IncomingMessage } from 'node:http';
import { authRoutes } from './auth/routes.ts';
import type { Config } from './config.ts';
import { json, type Route } from './http.ts';
import { type FacebookApp, FacebookOAuthClient } from './instagram/facebook-oauth.ts';
import { OAuthClient } from './instagram/oauth.ts';
import type { Logger } from './logger.ts';
import type { Services } from './services.ts';
import { webhookRoutes } from './webhooks/routes.ts';

export interface RouteOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: Services;
  /** Where the browser of a request reaches igql: the login's redirect URI is built on it. */
  readonly publicBase: (req: IncomingMessage) => string;
  /**
   * The Instagram app id: `INSTAGRAM_APP_ID`, or the simulator's in sandbox mode (where it is
   * Facebook Login's app id too).
   */
  readonly appId: string;
  /** The clock login sessions are issued with. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The routes beside GraphQL, by `METHOD /path`: health, readiness, metrics, Instagram's
 * webhooks, Business Login for Instagram and Facebook Login for Business. GraphiQL's files and
 * the sandbox's routes are added by the app.
 */
export function createRoutes(o: RouteOptions): Record<string, Route> {
  const { config, logger, services } = o;
  const { metrics, redis, state } = services;
  const oauthApp = () => ({ appId: o.appId, appSecret: config.instagram.appSecret });
  // Facebook Login: `FACEBOOK_APP_ID`, or in sandbox mode the simulator's app, which serves both.
  const facebookApp = (): FacebookApp | undefined => {
    const appId = config.facebook.appId ?? (config.sandbox ? o.appId : undefined);
    if (!appId) return undefined;
    return {
      appId,
      appSecret: config.facebook.appSecret,
      configId: config.facebook.loginConfigId,
    };
  };
  return {
    'GET /healthz': (_req, res) => json(res, 200, { status: 'ok' }),
    'GET /readyz': async (_req, res) => {
      const checks: Record<string, string> = {};
      if (redis) checks.redis = (await redis.ping()) ? 'ok' : 'unreachable';
      const ready = Object.values(checks).every((check) => check === 'ok');
      json(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks });
    },
    'GET /metrics': async (_req, res) => {
      metrics.subscribers.set(services.live.subscribers);
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
    },
    ...webhookRoutes({
      appSecret: config.instagram.appSecret,
      // Each configuration's app signs its own deliveries.
      facebookAppSecret: config.facebook.appSecret,
      verifyToken: config.instagram.webhookVerifyToken,
      pipeline: services.pipeline,
      logger,
      deliveries: metrics.webhookDeliveries,
      bodyBytes: config.limits.bodyBytes,
    }),
    ...authRoutes({
      secret: config.sessionSecret,
      publicBase: o.publicBase,
      allowedOrigins: config.allowedOrigins,
      hosts: () => ({ oauthUrl: services.upstream.oauthUrl }),
      app: oauthApp,
      oauth: new OAuthClient(services.client, oauthApp),
      api: services.api,
      tokens: state.tokens,
      revocations: state.revocations,
      sessions: services.sessions,
      logger,
      now: o.now,
      facebook: {
        app: facebookApp,
        hosts: () => ({
          oauthUrl: services.upstream.facebookOauthUrl,
          apiVersion: config.instagram.apiVersion,
        }),
        oauth: new FacebookOAuthClient(
          services.client,
          () => facebookApp() ?? { appId: '', appSecret: '' },
        ),
      },
    }),
  };
}
