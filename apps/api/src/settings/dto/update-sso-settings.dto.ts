import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsNotEmpty, IsString, MaxLength, ValidateNested } from 'class-validator';

// Whether a domain is well formed, not a webmail provider's and not verified by another retailer,
// and whether the role exists, are checked by the service, which names every failing entry (`jitDomains[1].domain`).
export class JitDomainDto {
  @ApiProperty({ example: 'acme.example', description: 'An email domain of the retailer (stored lowercased); public webmail domains are refused' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(253)
  domain: string;

  @ApiProperty({ example: 'viewer', description: "The role of members created on first sign-in: admin, analyst, viewer or a custom role (never owner)" })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  role: string;
}

export class UpdateSsoSettingsDto {
  @ApiProperty({ description: "When true, members with MFA who sign in through SSO are not asked for this service's second factor (the provider's MFA is trusted)" })
  @IsBoolean()
  trustProviderMfa: boolean;

  @ApiProperty({ type: [JitDomainDto], description: 'Email domains whose people get an account on their first SSO sign-in (just-in-time provisioning), each once its DNS TXT record is verified; a newly listed domain is pending; empty turns it off' })
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => JitDomainDto)
  jitDomains: JitDomainDto[];
}
