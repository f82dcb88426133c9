import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class PortalExchangeDto {
  @ApiProperty({ description: 'The single-use code from POST /portal/sso/handoff' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  code: string;
}
