import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { ApiKeyType } from '@app/database';
import { API_KEY_SCOPES, API_KEY_TYPES } from '../api-key-scopes';

const Trimmed = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

// Which scopes fit which type, and whether each CIDR parses, is checked by the service, which
// names every failing entry (`scopes`, `allowedIps[2]`) in one 400 answer.
export class CreateApiKeyDto {
  @ApiProperty({ example: 'Nightly BI export' })
  @Trimmed()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: API_KEY_TYPES })
  @IsIn(API_KEY_TYPES, { message: `type must be one of ${API_KEY_TYPES.join(', ')}` })
  type: ApiKeyType;

  @ApiProperty({
    type: [String],
    example: ['reporting:read', 'audit_logs:read'],
    description: `reporting keys: ${API_KEY_SCOPES.reporting.join(', ')}; reactivate keys: ${API_KEY_SCOPES.reactivate.join(', ')}`,
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  scopes: string[];

  @ApiPropertyOptional({ minimum: 1, maximum: 3650, default: 90 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3650)
  expiresInDays?: number;

  @ApiPropertyOptional({ type: [String], example: ['203.0.113.0/24', '2001:db8::/32'], description: 'IPv4/IPv6 addresses or CIDRs; empty or absent: any address' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  allowedIps?: string[];
}
