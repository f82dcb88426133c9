import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsString, MaxLength } from 'class-validator';

// Whether each entry parses as a CIDR is checked by the service, which names every failing entry
// (`cidrs[2]`) in one 400 answer.
export class UpdateIpAllowlistDto {
  @ApiProperty({ description: 'When true, only addresses inside `cidrs` reach any route of the retailer (tokens and API keys)' })
  @IsBoolean()
  enabled: boolean;

  @ApiProperty({
    type: [String],
    example: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'],
    description: 'IPv4/IPv6 addresses or CIDRs (at most 100); stored normalised: host bits cleared, IPv4-mapped IPv6 as IPv4',
  })
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  cidrs: string[];
}
