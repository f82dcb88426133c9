import type { OutgoingMail } from '@app/common/mail';

/** The invite mail. The link is built from PUBLIC_BASE_URL only. */
export function inviteMail(to: string, retailerName: string, link: string, ttlDays: number): OutgoingMail {
  return {
    to,
    subject: `You are invited to join ${retailerName}`,
    text: `You were invited to join the team of ${retailerName}.\n\nAccept the invitation and choose your password: ${link}\n\nThe link works once and expires in ${ttlDays} days. If you did not expect it, ignore this mail.`,
  };
}
