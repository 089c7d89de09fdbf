/**
 * Cluster alarms (etcd's alarm store): which member raised which alarm. Replicated — they
 * change only through applied AlarmRequests (or the quota raising NOSPACE at apply).
 */
import {
  AlarmRequest_AlarmAction as Action,
  type AlarmMember,
  type AlarmRequest,
  type AlarmResponse,
  AlarmType,
} from '../gen/etcdserverpb/rpc.js';
import { header } from './convert.js';

export class Alarms {
  /** `${memberID}/${type}` → alarm, in raise order. */
  readonly #active = new Map<string, AlarmMember>();

  has(type: AlarmType): boolean {
    for (const a of this.#active.values()) if (a.alarm === type) return true;
    return false;
  }

  list(): AlarmMember[] {
    return [...this.#active.values()].map((a) => ({ ...a }));
  }

  activate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    if (alarm === AlarmType.NONE) return undefined;
    const k = `${memberID}/${alarm}`;
    const a = { memberID, alarm };
    if (!this.#active.has(k)) this.#active.set(k, a);
    return { ...a };
  }

  deactivate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    const k = `${memberID}/${alarm}`;
    const a = this.#active.get(k);
    if (!a) return undefined;
    this.#active.delete(k);
    return { ...a };
  }

  /** Takes over another set's alarms (a snapshot was installed). */
  replaceWith(other: Alarms): void {
    this.#active.clear();
    for (const a of other.list()) this.activate(a.memberID, a.alarm);
  }

  /** etcd's applier: GET lists all; ACTIVATE/DEACTIVATE answer with the alarm changed (if any). */
  apply(r: AlarmRequest, revision: number): AlarmResponse {
    let alarms: AlarmMember[] = [];
    if (r.action === Action.GET) alarms = this.list();
    else if (r.action === Action.ACTIVATE) {
      const a = this.activate(r.memberID, r.alarm);
      if (a) alarms = [a];
    } else if (r.action === Action.DEACTIVATE) {
      const a = this.deactivate(r.memberID, r.alarm);
      if (a) alarms = [a];
    }
    return { header: header(revision), alarms };
  }
}
