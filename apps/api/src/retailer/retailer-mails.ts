import type { OutgoingMail } from '@app/common/mail';

/** The texts of the mails the retailer sign-in sends. Links are built from PUBLIC_BASE_URL only. */
export const retailerMails = {
  passwordReset(to: string, link: string, ttlHours: number): OutgoingMail {
    return {
      to,
      subject: 'Reset your password',
      text: `Someone (hopefully you) asked to reset the password of your account.\n\nChoose a new password: ${link}\n\nThe link works once and expires in ${ttlHours} hours. If you did not ask for it, ignore this mail: your password stays as it is.`,
    };
  },
  passwordChanged(to: string, how: 'reset' | 'change'): OutgoingMail {
    return {
      to,
      subject: 'Your password was changed',
      text: `The password of your account was ${how === 'reset' ? 'reset with an emailed link' : 'changed'}, and your other sessions were signed out.\n\nIf this was not you, reset your password at once and contact support.`,
    };
  },
  refreshReuse(to: string): OutgoingMail {
    return {
      to,
      subject: 'A session of yours was signed out for your safety',
      text: 'A sign-in token of yours was used again after it had been replaced, which can mean it was copied. We signed that session out everywhere.\n\nIf you did not expect this, change your password.',
    };
  },
};
