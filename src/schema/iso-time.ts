/**
 * `Date.prototype.toISOString` for the times igql serialises most (every `createdTime` of a
 * page of messages), about four times faster: `DateTime`'s serialisation was 8 % of the inbox
 * page's CPU (bench/read-probe.ts --cpu-prof). Times before 1970 or after 9999 take the builtin.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < MAX_FOUR_DIGIT_YEAR_MS) || !Number.isInteger(ms)) {
    return new Date(ms).toISOString();
  }
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  // Howard Hinnant's civil_from_days, for days since 1970-01-01 (proleptic Gregorian).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${two(month)}-${two(day)}T${two(hours)}:${two(minutes)}:${two(seconds)}.${millis < 10 ? `00${millis}` : millis < 100 ? `0${millis}` : millis}Z`;
}

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from there `toISOString` writes a six-digit year. */
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
