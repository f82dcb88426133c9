import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailOutbox } from '@app/database';
import { MailOutboxService } from './mail-outbox.service';

/** Durable outgoing mail: `MailOutboxService.enqueue` anywhere, one worker per instance sends it. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([MailOutbox])],
  providers: [MailOutboxService],
  exports: [MailOutboxService],
})
export class MailOutboxModule {}
