export * from './all-exceptions.filter';
export * from './envelope.interceptor';
export * from './error-response';
export * from './http-types';
export * from './middlewares';
export * from './request-context';
export * from './validation';
