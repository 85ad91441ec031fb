import { readdirSync, readFileSync } from 'node:fs';

/** `test/fixtures/instagram/`: real and example Instagram payloads, with their sources in its README. */
const DIR = new URL('../fixtures/instagram/', import.meta.url);

/** A fixture's text, exactly as stored. */
export const fixtureText = (name: string): string => readFileSync(new URL(name, DIR), 'utf8');

/** A fixture, parsed. */
export const fixture = (name: string): unknown => JSON.parse(fixtureText(name));

/** The names of every fixture. */
export const fixtureNames = (): string[] => readdirSync(DIR).filter((f) => f.endsWith('.json'));
