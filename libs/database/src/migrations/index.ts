import { InitialSchema1764140000000 } from './1764140000000-InitialSchema';

/** Every migration, in order. New migrations are appended here (and generated into this folder). */
export const MIGRATIONS = [InitialSchema1764140000000];
