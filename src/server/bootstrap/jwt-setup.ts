/**
 * --auth-token jwt,...: the signing keys are read and checked at start, so a bad key refuses to
 * start instead of failing the first Authenticate. simple (the default) needs nothing here.
 */
import { DEFAULT_JWT_TTL_MS, JwtTokens } from '../auth/auth-jwt.js';
import { parseDuration, type ServeConfig } from './config.js';

export async function setUpJwt(config: ServeConfig): Promise<JwtTokens | undefined> {
  const t = config.authToken;
  if (t.type !== 'jwt') return undefined;
  return JwtTokens.load({
    pubKey: t.options['pub-key']!,
    privKey: t.options['priv-key'],
    signMethod: t.options['sign-method']!,
    ttlMs: t.options.ttl ? parseDuration('auth-token ttl', t.options.ttl) : DEFAULT_JWT_TTL_MS,
  });
}
