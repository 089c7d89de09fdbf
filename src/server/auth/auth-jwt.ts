/**
 * JWT tokens (etcd's tokenJWT, `--auth-token jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…`):
 * signed with the configured key by the member that checked the password, verified by any
 * member holding the public key, with the claims etcd puts in them (username, revision, exp).
 * A token older than the auth store's revision is refused as etcd refuses it ("revision of
 * auth store is old"). Signing and verifying are the `jose` library's.
 */
import { readFile } from 'node:fs/promises';
import { type CryptoKey, importPKCS8, importSPKI, jwtVerify, type KeyObject, SignJWT } from 'jose';
import type { AuthInfo } from '../../mvcc/index.js';
import { ConfigError } from '../errors.js';

/** etcd's accepted sign methods for asymmetric keys. */
export const JWT_SIGN_METHODS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
];
/** etcd's default JWT lifetime: 5 minutes. */
export const DEFAULT_JWT_TTL_MS = 5 * 60_000;

export interface JwtOptions {
  pubKey: string;
  privKey?: string;
  signMethod: string;
  ttlMs: number;
}

export class JwtTokens {
  readonly #alg: string;
  readonly #ttlMs: number;
  readonly #verifyKey: CryptoKey | KeyObject;
  readonly #signKey: CryptoKey | KeyObject | undefined;

  private constructor(opts: JwtOptions, verifyKey: CryptoKey | KeyObject, signKey?: CryptoKey | KeyObject) {
    this.#alg = opts.signMethod;
    this.#ttlMs = opts.ttlMs;
    this.#verifyKey = verifyKey;
    this.#signKey = signKey;
  }

  /** Reads the key files; a missing or unreadable key refuses to start, naming the file. */
  static async load(opts: JwtOptions): Promise<JwtTokens> {
    if (!JWT_SIGN_METHODS.includes(opts.signMethod))
      throw new ConfigError(
        `--auth-token: sign-method ${JSON.stringify(opts.signMethod)} is not one of ${JWT_SIGN_METHODS.join(', ')}`,
      );
    const read = async (what: string, file: string) => {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        throw new ConfigError(
          `--auth-token: cannot read ${what} ${JSON.stringify(file)}: ${(err as Error).message}`,
        );
      }
    };
    const parse = async <T>(what: string, file: string, f: () => Promise<T>) => {
      try {
        return await f();
      } catch (err) {
        throw new ConfigError(
          `--auth-token: ${what} ${JSON.stringify(file)} is not a ${opts.signMethod} key: ${(err as Error).message}`,
        );
      }
    };
    const pub = await read('pub-key', opts.pubKey);
    const verifyKey = await parse('pub-key', opts.pubKey, () => importSPKI(pub, opts.signMethod));
    if (opts.privKey === undefined) return new JwtTokens(opts, verifyKey);
    const priv = await read('priv-key', opts.privKey);
    const privKey = opts.privKey;
    const signKey = await parse('priv-key', privKey, () => importPKCS8(priv, opts.signMethod));
    const tokens = new JwtTokens(opts, verifyKey, signKey);
    // etcd refuses keys that do not belong together.
    const probe = await tokens.sign('probe', 1);
    if ((await tokens.info(probe)) === undefined)
      throw new ConfigError("--auth-token: public and private keys don't match");
    return tokens;
  }

  sign(username: string, revision: number): Promise<string> {
    if (!this.#signKey) throw new ConfigError('auth: token signing attempted with verify-only key');
    return new SignJWT({ username, revision })
      .setProtectedHeader({ alg: this.#alg })
      .setExpirationTime(Math.floor((Date.now() + this.#ttlMs) / 1000))
      .sign(this.#signKey);
  }

  /** The claims of a token this key signed and that has not expired, or undefined. */
  async info(token: string): Promise<AuthInfo | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#verifyKey, { algorithms: [this.#alg] });
      const { username, revision } = payload as { username?: unknown; revision?: unknown };
      if (typeof username !== 'string' || typeof revision !== 'number') return undefined;
      return { username, revision };
    } catch {
      return undefined;
    }
  }
}
