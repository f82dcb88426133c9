import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsEmail, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

const Trimmed = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));
// The password policy is the service's; the DTO only bounds the size.
const PASSWORD_MAX_CHARS = 1024;

export class InviteMemberDto {
  @ApiProperty({ example: 'colleague@shop.example' })
  @Trimmed()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email: string;

  @ApiProperty({ example: 'analyst', description: 'a predefined role or a custom role of the retailer, by name' })
  @Trimmed()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  role: string;

  @ApiPropertyOptional({ type: [String], description: 'dashboard ids the member sees' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  dashboards?: string[];
}

export class AcceptInviteDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token: string;

  @ApiProperty({ example: 'Sam Colleague' })
  @Trimmed()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ minLength: 12 })
  @IsString()
  @MaxLength(PASSWORD_MAX_CHARS)
  password: string;
}

export class UpdateMemberDto {
  @ApiPropertyOptional({ example: 'viewer' })
  @IsOptional()
  @Trimmed()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  role?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  dashboards?: string[];
}
