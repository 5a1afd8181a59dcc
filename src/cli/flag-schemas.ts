// Validation of numeric flags, shared by every command: flags arrive as text (from argv or the
// environment) and leave as numbers, or as one clear message naming the flag.
import * as v from "valibot";

export function wholeNumber(flag: string, min: number, max: number) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, `--${flag} must be a whole number`),
    v.transform(Number),
    v.minValue(min, `--${flag} must be at least ${min}`),
    v.maxValue(max, `--${flag} must be at most ${max}`),
  );
}

/** A non-negative decimal; `what` names it in the message (`a number of seconds`, say). */
export function decimal(flag: string, what: string, min: number, max: number, limits: { min?: string; max?: string } = {}) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+(\.\d+)?$/, `--${flag} must be ${what}`),
    v.transform(Number),
    v.minValue(min, `--${flag} must be ${limits.min ?? `at least ${min}`}`),
    v.maxValue(max, `--${flag} must be ${limits.max ?? `at most ${max}`}`),
  );
}
