import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsObject, IsOptional, IsString, Matches } from 'class-validator';

const Trimmed = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));
/** Letters, digits, space, `_`, `.`, `-`; 1 to 64 characters, starting with a letter or digit. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;
const ROLE_NAME_MESSAGE = 'name must be 1-64 letters, digits, spaces, "_", "." or "-", starting with a letter or digit';

export class CreateRoleDto {
  @ApiProperty({ example: 'merchandiser' })
  @Trimmed()
  @IsString()
  @Matches(ROLE_NAME, { message: ROLE_NAME_MESSAGE })
  name: string;

  @ApiProperty({ example: { analytics: ['read'], reports: ['read', 'write'] }, description: '{resource: [actions]}' })
  @IsObject()
  permissions: Record<string, unknown>;
}

export class UpdateRoleDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Trimmed()
  @IsString()
  @Matches(ROLE_NAME, { message: ROLE_NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ description: '{resource: [actions]}; replaces the whole map' })
  @IsOptional()
  @IsObject()
  permissions?: Record<string, unknown>;
}
