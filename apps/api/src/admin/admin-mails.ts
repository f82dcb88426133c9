import type { OutgoingMail } from '@app/common/mail';

/** The mails of the admin console. Links are built from PUBLIC_BASE_URL only. */
export const adminMails = {
  magicLink(to: string, link: string, ttlMinutes: number): OutgoingMail {
    return {
      to,
      subject: 'Your admin console sign-in link',
      text: `Sign in to the admin console with this link: ${link}\n\nIt works once and expires in ${ttlMinutes} minutes. If you did not ask for it, tell the security team.`,
    };
  },
  impersonationStarted(to: string, retailerName: string, adminEmail: string, reason: string, fullAccess: boolean, expiresAt: string): OutgoingMail {
    return {
      to,
      subject: `Support is accessing your ${retailerName} account`,
      text:
        `A member of our staff (${adminEmail}) started a ${fullAccess ? 'full-access' : 'read-only'} session in your account ${retailerName}.\n\n` +
        `Reason given: ${reason}\n\nIt ends at ${expiresAt} at the latest. Every request made during it is in your audit log. ` +
        'It cannot change passwords, second factors, sessions or API keys. If you did not expect this, contact support.',
    };
  },
};
