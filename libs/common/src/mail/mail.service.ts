import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import nodemailer, { Transporter } from 'nodemailer';
import { APP_CONFIG, AppConfig } from '../config';
import { APP_LOGGER, AppLogger } from '../logging';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Sends mail over SMTP_URL. Without SMTP_URL a development instance prints each mail to the log
 * so a developer can follow its links; a production instance without SMTP_URL prints only the
 * recipient and subject, never the body (it may hold a one-time link).
 */
@Injectable()
export class MailService implements OnModuleDestroy {
  private readonly transport: Transporter | null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
  ) {
    this.transport = config.mail.smtpUrl
      ? nodemailer.createTransport(config.mail.smtpUrl, {
          connectionTimeout: 5000,
          greetingTimeout: 5000,
          socketTimeout: 10_000,
        } as never)
      : null;
  }

  async send(mail: OutgoingMail): Promise<void> {
    if (!this.transport) {
      if (this.config.isProduction) {
        this.logger.warn({ to: mail.to, subject: mail.subject }, 'SMTP_URL is not set: mail not sent');
      } else {
        // Development only: the body is printed so its links can be followed locally.
        this.logger.info({ mail: { to: mail.to, subject: mail.subject, body: mail.text } }, 'mail (development transport)');
      }
      return;
    }
    await this.transport.sendMail({ from: this.config.mail.from, ...mail });
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }
}
