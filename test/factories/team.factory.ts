import request from 'supertest';
import type { TestMailbox } from '../support/mailbox';
import type { TestInstance } from '../support/test-app';
import { onlyLinkOf, tokenFromLink } from './mail.factory';
import { STRONG_PASSWORD, uniqueEmail } from './retailer.factory';

export interface InvitedMember {
  email: string;
  userId: string;
  /** The member's access token, from accepting the invitation. */
  token: string;
  refreshToken: string;
}

/** Invites `email` with `inviterToken` over HTTP and returns the raw invitation token from the mail. */
export async function inviteToken(
  instance: TestInstance,
  mailbox: TestMailbox,
  inviterToken: string,
  invite: { role: string; email?: string; dashboards?: string[] },
): Promise<{ email: string; token: string }> {
  const email = invite.email ?? uniqueEmail(invite.role.replace(/\W/g, '') || 'member');
  const seen = mailbox.messages.length;
  const res = await request(instance.http)
    .post('/api/v1/team/invite')
    .set('Authorization', `Bearer ${inviterToken}`)
    .send({ email, role: invite.role, ...(invite.dashboards ? { dashboards: invite.dashboards } : {}) });
  if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${JSON.stringify(res.body)}`);
  const mail = await mailbox.waitFor(email, { subject: /invited/i, after: seen });
  return { email, token: tokenFromLink(onlyLinkOf(mail)) };
}

/** Invites a member with the given role and accepts the invitation: a signed-in member. */
export async function addMember(
  instance: TestInstance,
  mailbox: TestMailbox,
  inviterToken: string,
  invite: { role: string; email?: string; dashboards?: string[] },
): Promise<InvitedMember> {
  const { email, token } = await inviteToken(instance, mailbox, inviterToken, invite);
  const res = await request(instance.http).post('/api/v1/team/invite/accept').send({ token, name: 'Team Member', password: STRONG_PASSWORD });
  if (res.status !== 200) throw new Error(`accept failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, userId: res.body.data.user.id, token: res.body.data.token, refreshToken: res.body.data.refreshToken };
}
