/** What a raw gRPC call (nice-grpc) came to, as a string a test compares with etcd's. */
import { ClientError, Status } from 'nice-grpc';

async function settle(p: Promise<unknown>, describe: (err: ClientError) => string): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof ClientError) return describe(err);
    throw err;
  }
}

/** 'ok', or the refusal as `<CODE>: <message>` (e.g. `PERMISSION_DENIED: etcdserver: permission denied`). */
export const grpcOutcome = (p: Promise<unknown>): Promise<string> =>
  settle(p, (err) => `${Status[err.code]}: ${err.details}`);

/** 'ok', or the message (details) of the gRPC error the call failed with. */
export const grpcMessage = (p: Promise<unknown>): Promise<string> => settle(p, (err) => err.details);
