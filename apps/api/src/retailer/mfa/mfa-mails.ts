import type { OutgoingMail } from '@app/common/mail';

export const mfaMails = {
  emailCode(to: string, code: string, ttlMinutes: number): OutgoingMail {
    return {
      to,
      subject: 'Your sign-in code',
      text: `Your sign-in code is ${code}.\n\nIt works once and expires in ${ttlMinutes} minutes. If you are not signing in, someone has your password: change it.`,
    };
  },
  factorChanged(to: string, what: string): OutgoingMail {
    return {
      to,
      subject: 'Your sign-in security settings changed',
      text: `${what}\n\nIf this was not you, reset your password at once and contact support.`,
    };
  },
};
