/**
 * A GraphQL or Graph answer read loosely (any property, any index) and then compared with exact
 * expected values: the assertions check its shape, so a type would only repeat them.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; used by the media tests only.
export type Loose = any;
