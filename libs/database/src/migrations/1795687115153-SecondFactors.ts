import { MigrationInterface, QueryRunner } from "typeorm";

export class SecondFactors1795687115153 implements MigrationInterface {
    name = 'SecondFactors1795687115153'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "backup_codes" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "code_hash" character varying(64) NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_34ab957382dbc57e8fb53f1638f" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_backup_codes_user" ON "backup_codes"  ("user_id") `);
        await queryRunner.query(`CREATE TABLE "mfa_challenges" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "origin" character varying(20) NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "closed_at" TIMESTAMP WITH TIME ZONE, "email_code_hash" character varying(64), "email_code_expires_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_25d85a6da62620267e003fb4da4" PRIMARY KEY ("id"))`);
        await queryRunner.query(`ALTER TABLE "users" ADD "totp_secret" text`);
        await queryRunner.query(`ALTER TABLE "users" ADD "totp_pending_secret" text`);
        await queryRunner.query(`ALTER TABLE "users" ADD "totp_enabled_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "users" ADD "totp_last_step" bigint`);
        await queryRunner.query(`ALTER TABLE "users" ADD "email_otp_enabled_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "backup_codes" ADD CONSTRAINT "FK_backup_codes_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "mfa_challenges" ADD CONSTRAINT "FK_mfa_challenges_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "mfa_challenges" DROP CONSTRAINT "FK_mfa_challenges_user"`);
        await queryRunner.query(`ALTER TABLE "backup_codes" DROP CONSTRAINT "FK_backup_codes_user"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email_otp_enabled_at"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "totp_last_step"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "totp_enabled_at"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "totp_pending_secret"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "totp_secret"`);
        await queryRunner.query(`DROP TABLE "mfa_challenges"`);
        await queryRunner.query(`DROP INDEX "public"."idx_backup_codes_user"`);
        await queryRunner.query(`DROP TABLE "backup_codes"`);
    }

}
