export * from './common-passwords';
export * from './password-policy';
export * from './password-hasher.service';
export * from './passwords.module';
