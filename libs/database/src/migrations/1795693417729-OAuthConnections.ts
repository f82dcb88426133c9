import { MigrationInterface, QueryRunner } from "typeorm";

export class OAuthConnections1795693417729 implements MigrationInterface {
    name = 'OAuthConnections1795693417729'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "oauth_connections" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "retailer_id" uuid NOT NULL, "user_id" uuid, "provider" character varying(32) NOT NULL, "external_id" character varying(500) NOT NULL, "scopes" text array NOT NULL DEFAULT '{}', "status" character varying(20) NOT NULL DEFAULT 'active', "access_token" text, "refresh_token" text, "token_expires_at" TIMESTAMP WITH TIME ZONE, "metadata" jsonb NOT NULL DEFAULT '{}', "connected_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_dd75e97352734560c9e585c057d" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_oauth_connections_retailer" ON "oauth_connections"  ("retailer_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_oauth_connections_provider_account" ON "oauth_connections"  ("provider", "external_id") `);
        await queryRunner.query(`CREATE TABLE "oauth_webhook_events" ("provider" character varying(32) NOT NULL, "event_id" character varying(200) NOT NULL, "topic" character varying(100) NOT NULL, "external_id" character varying(500), "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a365b1242a7e10b33639bac2c25" PRIMARY KEY ("provider", "event_id"))`);
        await queryRunner.query(`ALTER TABLE "oauth_connections" ADD CONSTRAINT "FK_oauth_connections_retailer" FOREIGN KEY ("retailer_id") REFERENCES "retailers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "oauth_connections" ADD CONSTRAINT "FK_oauth_connections_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "oauth_connections" DROP CONSTRAINT "FK_oauth_connections_user"`);
        await queryRunner.query(`ALTER TABLE "oauth_connections" DROP CONSTRAINT "FK_oauth_connections_retailer"`);
        await queryRunner.query(`DROP TABLE "oauth_webhook_events"`);
        await queryRunner.query(`DROP INDEX "public"."uq_oauth_connections_provider_account"`);
        await queryRunner.query(`DROP INDEX "public"."idx_oauth_connections_retailer"`);
        await queryRunner.query(`DROP TABLE "oauth_connections"`);
    }

}
