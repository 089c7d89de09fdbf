/**
 * The one factory for the SDK clients a test makes: every client it returns is closed after the
 * test (so a failing test leaves no connection open for the next one).
 */
import { Client, type ClientOptions } from '../../src/index.js';

/** Options every client of a file shares; a call may override them. */
export type ClientDefaults = Omit<ClientOptions, 'endpoints'>;

export type NewClient = (endpoints: string[], options?: ClientDefaults) => Client;

/** Registers the afterEach that closes them, so call it at the top level of a file or describe. */
export function testClients(defaults: ClientDefaults = {}): NewClient {
  const open: Client[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  return (endpoints, options = {}) => {
    const c = new Client({ ...defaults, ...options, endpoints });
    open.push(c);
    return c;
  };
}
