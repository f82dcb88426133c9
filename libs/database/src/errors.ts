/** True for Postgres' unique_violation (23505), raw from `pg` or wrapped by TypeORM. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } } | null;
  return e?.code === '23505' || e?.driverError?.code === '23505';
}
