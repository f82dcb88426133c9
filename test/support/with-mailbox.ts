import { TestMailbox } from './mailbox';
import { InstanceOptions, startInstance, TestInstance } from './test-app';

export interface MailingInstance {
  instance: TestInstance;
  mailbox: TestMailbox;
  close(): Promise<void>;
}

/** An instance whose mail goes to a real SMTP server on loopback, polled often. */
export async function startWithMailbox(options: InstanceOptions = {}): Promise<MailingInstance> {
  const mailbox = await TestMailbox.start();
  const instance = await startInstance({ ...options, env: { MAIL_POLL_INTERVAL: '200ms', ...options.env, SMTP_URL: mailbox.url } });
  return {
    instance,
    mailbox,
    close: async () => {
      await instance.close();
      await mailbox.stop();
    },
  };
}

/** Registers beforeAll/afterAll for a describe block; the returned function gives its instance and mailbox. */
export function useMailingInstance(options: InstanceOptions = {}): () => MailingInstance {
  let current: MailingInstance | undefined;
  beforeAll(async () => {
    current = await startWithMailbox(options);
  });
  afterAll(() => current?.close());
  return () => {
    if (!current) throw new Error('the mailing instance is not started yet');
    return current;
  };
}
