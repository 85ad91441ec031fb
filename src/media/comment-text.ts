/**
 * What Instagram accepts as a comment (Meta's `POST /<IG_MEDIA_ID>/comments` reference): at most
 * 300 characters, 4 hashtags and 1 URL, and not all capital letters. Checked before any call.
 */
export const COMMENT_LIMITS = { characters: 300, hashtags: 4, urls: 1 } as const;

/** Why `text` cannot be a comment; empty when it can. */
export function commentTextProblems(text: string): string[] {
  const problems: string[] = [];
  if (text.trim() === '') problems.push('must not be empty');
  if ([...text].length > COMMENT_LIMITS.characters) {
    problems.push(`must be at most ${COMMENT_LIMITS.characters} characters`);
  }
  if ((text.match(/#[\p{L}\p{N}_]+/gu) ?? []).length > COMMENT_LIMITS.hashtags) {
    problems.push(`must have at most ${COMMENT_LIMITS.hashtags} hashtags`);
  }
  if ((text.match(/https?:\/\/\S+|www\.\S+/gi) ?? []).length > COMMENT_LIMITS.urls) {
    problems.push(`must have at most ${COMMENT_LIMITS.urls} URL`);
  }
  if (/\p{Lu}/u.test(text) && !/\p{Ll}/u.test(text)) {
    problems.push('must not be all capital letters');
  }
  return problems;
}
