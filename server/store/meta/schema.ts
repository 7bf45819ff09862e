/**
 * The records the metadata store holds are the domain's nouns, defined in the domain
 * (server/domain/records.ts); the store names them here for its own modules and callers.
 */
export * from '../../domain/records.js';
