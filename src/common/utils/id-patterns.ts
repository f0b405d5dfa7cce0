/**
 * What a kb_id may look like, wherever one arrives: task requests, query filters, API-key
 * scopes and token claims. Kept here, below every layer that checks one.
 */
export const KB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
