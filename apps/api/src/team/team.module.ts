import { Module } from '@nestjs/common';
import { RetailerModule } from '../retailer/retailer.module';
import { TeamController } from './team.controller';
import { TeamService } from './team.service';

/** A retailer's team: invitations, members, their roles and dashboards. */
@Module({
  imports: [RetailerModule],
  controllers: [TeamController],
  providers: [TeamService],
})
export class TeamModule {}
