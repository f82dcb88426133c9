/** Cookies of the other token types (the retailer's name is configurable, RETAILER_ACCESS_TOKEN_COOKIE_NAME). */
export const ADMIN_ACCESS_COOKIE = 'admin_access_token';
export const PORTAL_ACCESS_COOKIE = 'portal_access_token';
