/**
 * The NATS credentials of NATS_CREDS_FILE: a credentials file (a user JWT and its nkey seed, for servers
 * in operator mode), or a file holding only a user nkey seed (for servers that list nkey users, with
 * their permissions, in their authorization block: docs/scale-out.md).
 */
import { type Authenticator, credsAuthenticator, nkeyAuthenticator } from '@nats-io/transport-node';

/** A user nkey seed: `SU` and 56 base32 characters. */
const USER_SEED = /^SU[A-Z2-7]{56}$/;

export function natsAuthenticator(file: Buffer): Authenticator {
  const text = file.toString('utf8').trim();
  return USER_SEED.test(text) ? nkeyAuthenticator(new TextEncoder().encode(text)) : credsAuthenticator(file);
}
