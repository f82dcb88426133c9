import { MigrationInterface, QueryRunner } from "typeorm";

export class AdminConsole1795692919184 implements MigrationInterface {
    name = 'AdminConsole1795692919184'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "admins" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" character varying(320) NOT NULL, "name" character varying(200) NOT NULL DEFAULT '', "full_access" boolean NOT NULL DEFAULT false, "status" character varying(20) NOT NULL DEFAULT 'active', "totp_secret" text, "totp_pending_secret" text, "totp_enabled_at" TIMESTAMP WITH TIME ZONE, "totp_last_step" bigint, "last_login_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e3b38270c97a854c48d2e80874e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_admins_email" ON "admins"  ("email") `);
        await queryRunner.query(`CREATE TABLE "impersonations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "admin_id" uuid NOT NULL, "retailer_id" uuid NOT NULL, "acting_user_id" uuid NOT NULL, "reason" character varying(500) NOT NULL, "full_access" boolean NOT NULL, "jti" uuid NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e9925e09cb99fcc17ccfe02abae" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_impersonations_retailer" ON "impersonations"  ("retailer_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "impersonations" ADD CONSTRAINT "FK_impersonations_admin" FOREIGN KEY ("admin_id") REFERENCES "admins"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "impersonations" ADD CONSTRAINT "FK_impersonations_retailer" FOREIGN KEY ("retailer_id") REFERENCES "retailers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "impersonations" DROP CONSTRAINT "FK_impersonations_retailer"`);
        await queryRunner.query(`ALTER TABLE "impersonations" DROP CONSTRAINT "FK_impersonations_admin"`);
        await queryRunner.query(`DROP INDEX "public"."idx_impersonations_retailer"`);
        await queryRunner.query(`DROP TABLE "impersonations"`);
        await queryRunner.query(`DROP INDEX "public"."uq_admins_email"`);
        await queryRunner.query(`DROP TABLE "admins"`);
    }

}
