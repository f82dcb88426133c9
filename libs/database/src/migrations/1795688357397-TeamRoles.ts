import { MigrationInterface, QueryRunner } from "typeorm";

export class TeamRoles1795688357397 implements MigrationInterface {
    name = 'TeamRoles1795688357397'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "roles" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "retailer_id" uuid NOT NULL, "name" character varying(64) NOT NULL, "permissions" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c1433d71a4838793a49dcad46ab" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_roles_retailer_name" ON "roles"  ("retailer_id", "name") `);
        await queryRunner.query(`ALTER TABLE "users" ADD "role_changed_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "roles" ADD CONSTRAINT "FK_roles_retailer" FOREIGN KEY ("retailer_id") REFERENCES "retailers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "roles" DROP CONSTRAINT "FK_roles_retailer"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "role_changed_at"`);
        await queryRunner.query(`DROP INDEX "public"."uq_roles_retailer_name"`);
        await queryRunner.query(`DROP TABLE "roles"`);
    }

}
