import type { ReceivedMail } from '../support/mailbox';

/** PUBLIC_BASE_URL of every test instance (see startInstance): the only origin mailed links may point at. */
export const PUBLIC_BASE_URL = 'http://dashboard.test';

const SIX_DIGITS = /(?<!\d)\d{6}(?!\d)/g;

/** The 6-digit code of a sign-in code mail; throws unless its text holds exactly one. */
export function codeFromMail(mail: ReceivedMail): string {
  const codes = mail.text.match(SIX_DIGITS) ?? [];
  if (codes.length !== 1) throw new Error(`expected one 6-digit code in ${JSON.stringify(mail.subject)}, found ${codes.length}: ${JSON.stringify(mail.text)}`);
  return codes[0];
}

/** The `token` query parameter of a mailed link; throws when there is none. */
export function tokenFromLink(link: string): string {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error(`no token in the link ${link}`);
  return token;
}

/** The single link of a mail; throws unless there is exactly one. */
export function onlyLinkOf(mail: ReceivedMail): string {
  if (mail.links.length !== 1) throw new Error(`expected one link in ${JSON.stringify(mail.subject)}, found ${mail.links.length}: ${mail.links.join(', ')}`);
  return mail.links[0];
}

/** True when `secret` appears in `text` as a whole word (not inside a longer run of letters or digits). */
export function containsWord(text: string, secret: string): boolean {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`).test(text);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
