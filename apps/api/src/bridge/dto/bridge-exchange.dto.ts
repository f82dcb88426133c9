import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** POST /auth/bridge: the bridge token travels in the body only (never a header, cookie or query). */
export class BridgeExchangeDto {
  @ApiProperty({ description: 'A bridge token minted by a sibling service (HS256, aud "bridge", single use by jti)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  token: string;
}
