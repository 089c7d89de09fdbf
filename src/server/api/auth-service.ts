/**
 * The Auth service (etcd's v3rpc AuthServer + the server's auth calls). Changes are proposals
 * applied by the state machine's auth store, checked there for the root role (etcd's
 * needAdminPermission); passwords are hashed here first, so the log never holds one. Reads wait
 * for a ReadIndex and are answered from the local store with the same admin rules (a user may
 * read itself, and the roles it has).
 */
import type { AuthServiceImplementation } from '../../gen/etcdserverpb/rpc.js';
import type { AuthInfo } from '../../mvcc/index.js';
import type { Node } from '../bootstrap/node.js';
import type { InternalRequest } from '../raft/internal-request.js';

export function authService(node: Node): AuthServiceImplementation {
  const { sm, proposer, auth } = node;
  type Ctx = { signal: AbortSignal; metadata?: Parameters<typeof auth.infoOf>[0] };

  /** Proposes an admin request with the caller's credentials; refused early when not root. */
  async function admin<R extends InternalRequest>(req: R, ctx: Ctx) {
    const who = await auth.proposal(ctx.metadata);
    if (who) sm.auth.isAdminPermitted(who);
    const resp = await proposer.propose(req, ctx.signal, who);
    return { header: node.header((resp as { header?: undefined }).header, sm.revision) };
  }

  /** A linearizable read of the store, by `allowed` callers (admin by default). */
  async function read<T>(ctx: Ctx, f: () => T, self?: (who: AuthInfo | undefined) => boolean): Promise<T> {
    const who = await auth.infoOf(ctx.metadata);
    await proposer.readIndex(ctx.signal);
    if (!self?.(who)) sm.auth.isAdminPermitted(who);
    return f();
  }

  const header = () => node.header(undefined, sm.revision);

  return {
    authEnable: (_req, ctx) => admin({ authEnable: {} }, ctx),
    authDisable: (_req, ctx) => admin({ authDisable: {} }, ctx),
    authStatus: (_req, ctx) =>
      read(ctx, () => ({
        header: header(),
        enabled: sm.auth.enabled,
        authRevision: BigInt(sm.auth.revision),
      })),

    async authenticate(req, ctx) {
      await proposer.readIndex(ctx.signal);
      for (;;) {
        const checkedAt = sm.auth.revision;
        await auth.checkPassword(req.name, req.password);
        const resp = await proposer.propose(
          { authenticate: { name: req.name, simpleToken: auth.newToken() } },
          ctx.signal,
        );
        // The password was checked against a store that changed meanwhile: check again (etcd).
        if (checkedAt === sm.auth.revision)
          return { header: node.header(resp.header), token: await auth.tokenFor(req.name, resp.token) };
      }
    },

    async userAdd(req, ctx) {
      const noPassword = req.options?.noPassword ?? false;
      const who = await auth.proposal(ctx.metadata);
      if (who) sm.auth.isAdminPermitted(who);
      const hashedPassword = noPassword ? '' : await hashOf(req.password, req.hashedPassword);
      return admin({ authUserAdd: { ...req, password: '', hashedPassword } }, ctx);
    },
    async userChangePassword(req, ctx) {
      const who = await auth.proposal(ctx.metadata);
      if (who) sm.auth.isAdminPermitted(who);
      const hashedPassword = await hashOf(req.password, req.hashedPassword);
      return admin({ authUserChangePassword: { name: req.name, password: '', hashedPassword } }, ctx);
    },
    userDelete: (req, ctx) => admin({ authUserDelete: req }, ctx),
    userGrantRole: (req, ctx) => admin({ authUserGrantRole: req }, ctx),
    userRevokeRole: (req, ctx) => admin({ authUserRevokeRole: req }, ctx),
    roleAdd: (req, ctx) => admin({ authRoleAdd: req }, ctx),
    roleDelete: (req, ctx) => admin({ authRoleDelete: req }, ctx),
    roleGrantPermission: (req, ctx) => admin({ authRoleGrantPermission: req }, ctx),
    roleRevokePermission: (req, ctx) => admin({ authRoleRevokePermission: req }, ctx),

    userGet: (req, ctx) =>
      read(
        ctx,
        () => ({ header: header(), roles: sm.auth.userGet(req.name) }),
        (who) => who?.username === req.name,
      ),
    userList: (_req, ctx) => read(ctx, () => ({ header: header(), users: sm.auth.userList() })),
    roleGet: (req, ctx) =>
      read(
        ctx,
        () => ({ header: header(), ...sm.auth.roleGet(req.role) }),
        (who) => who !== undefined && sm.auth.hasRole(who.username, req.role),
      ),
    roleList: (_req, ctx) => read(ctx, () => ({ header: header(), roles: sm.auth.roleList() })),
  };

  /** A client may send a bcrypt hash itself (etcd 3.5's hashedPassword, base64 of the hash). */
  function hashOf(password: string, hashed: string): Promise<string> {
    if (hashed !== '') return Promise.resolve(Buffer.from(hashed, 'base64').toString('latin1'));
    return auth.hash(password);
  }
}
