import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Matches, MaxLength, Min } from 'class-validator';

export class WooConnectQueryDto {
  @ApiProperty({ example: 'https://shop.example.com', description: 'The WordPress site of the store (https only; a sub-path is kept)' })
  @IsString()
  @MaxLength(2000)
  storeUrl: string;
}

/** What WooCommerce posts to `callback_url` once the merchant approves (its documented body). */
export class WooCallbackDto {
  @ApiProperty()
  @IsInt()
  @Min(0)
  key_id: number;

  @ApiProperty({ description: 'The nonce this service sent as user_id' })
  @IsString()
  @MaxLength(200)
  user_id: string;

  @ApiProperty()
  @IsString()
  @Matches(/^ck_[A-Za-z0-9]{20,100}$/, { message: 'consumer_key must look like ck_...' })
  consumer_key: string;

  @ApiProperty()
  @IsString()
  @Matches(/^cs_[A-Za-z0-9]{20,100}$/, { message: 'consumer_secret must look like cs_...' })
  consumer_secret: string;

  @ApiProperty({ enum: ['read'], description: 'Only read keys are accepted (the scope asked for)' })
  @IsIn(['read'], { message: 'key_permissions must be read' })
  key_permissions: string;
}
