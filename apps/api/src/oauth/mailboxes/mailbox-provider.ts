export type MailboxProvider = 'microsoft' | 'google';
export const MAILBOX_PROVIDERS: readonly MailboxProvider[] = ['microsoft', 'google'];

export const isMailboxProvider = (provider: string): provider is MailboxProvider => (MAILBOX_PROVIDERS as readonly string[]).includes(provider);

/** A PKCE pair (RFC 7636, S256): the challenge goes to the provider, the verifier stays in the browser's sealed cookie. */
export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** A mailbox whose authorization code was just redeemed: its account and tokens, in plaintext (sealed when stored). */
export interface LinkedMailbox {
  /** The account at the provider: MSAL's home account id (`oid.tid`), Google's `sub`. */
  externalId: string;
  /** The mailbox's address, as the provider names it (shown in the connection list). */
  email: string | null;
  scopes: string[];
  accessToken: string | null;
  refreshToken: string | null;
  /** MSAL's serialised token cache (Microsoft only). */
  tokenCache: string | null;
  tokenExpiresAt: Date | null;
  metadata: Record<string, unknown>;
}

export interface MailboxAccessToken {
  accessToken: string;
  expiresAt: Date | null;
}
