export * from './data-source-options';
export * from './database.module';
export * from './embedded-postgres';
export * from './entities';
export * from './migrations';
export * from './entity-rows';
export * from './errors';
export * from './prepared';
