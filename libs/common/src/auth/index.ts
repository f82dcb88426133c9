export * from './auth-policy';
