/**
 * Domains of public email providers: anyone can get an address there, so no retailer may claim
 * one for just-in-time provisioning (every Gmail user would become its member). Not exhaustive;
 * the brand rule below also catches the providers' country domains (yahoo.co.uk, outlook.fr).
 */
const WEBMAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'passport.com',
  'yahoo.com', 'ymail.com', 'rocketmail.com', 'icloud.com', 'me.com', 'mac.com', 'aol.com', 'aim.com',
  'proton.me', 'protonmail.com', 'protonmail.ch', 'pm.me', 'gmx.com', 'gmx.net', 'gmx.de', 'web.de',
  'mail.com', 'email.com', 'yandex.com', 'yandex.ru', 'ya.ru', 'mail.ru', 'inbox.ru', 'bk.ru', 'list.ru',
  'zoho.com', 'zohomail.com', 'fastmail.com', 'fastmail.fm', 'hey.com', 'tutanota.com', 'tuta.io',
  'qq.com', '163.com', '126.com', 'yeah.net', 'sina.com', 'naver.com', 'daum.net', 'hanmail.net',
  'orange.fr', 'wanadoo.fr', 'free.fr', 'laposte.net', 'sfr.fr', 'libero.it', 'virgilio.it', 't-online.de',
  'freenet.de', 'comcast.net', 'verizon.net', 'att.net', 'sbcglobal.net', 'btinternet.com', 'sky.com',
  'rediffmail.com', 'seznam.cz', 'wp.pl', 'o2.pl', 'interia.pl', 'mailinator.com', 'guerrillamail.com',
]);

/** Brands whose `<brand>.<country suffix>` domains are webmail too (outlook.fr, yahoo.co.jp, hotmail.com.br). */
const WEBMAIL_BRANDS = new Set(['gmail', 'googlemail', 'hotmail', 'outlook', 'live', 'msn', 'yahoo', 'ymail', 'icloud', 'aol', 'gmx', 'yandex', 'protonmail']);

/** True for a public webmail domain (given lowercased, ASCII). */
export function isWebmailDomain(domain: string): boolean {
  if (WEBMAIL_DOMAINS.has(domain)) return true;
  const [first, ...rest] = domain.split('.');
  // `acme.com` under a brand label (outlook.acme.com) is somebody's own domain: only short
  // country-style suffixes (fr, co.uk, com.br) count.
  return WEBMAIL_BRANDS.has(first) && rest.length >= 1 && rest.length <= 2 && rest.every((label) => label.length <= 3);
}
