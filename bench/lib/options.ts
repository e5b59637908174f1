/**
 * The benchmarks' command-line options, read one way: numbers (each with its default and least
 * value), text options and flags. Unknown options are ignored, as bench/run.ts passes every
 * benchmark the same arguments.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A number option: its default; `min` the least value allowed (unset: any above 0); `whole`: integers only. */
export interface NumberOption {
  default: number;
  min?: number;
  whole?: boolean;
}

export interface OptionSpec<N extends string, T extends string, F extends string> {
  numbers: Record<N, NumberOption>;
  texts?: Record<T, string>;
  flags?: readonly F[];
}

function checked(name: string, text: unknown, option: NumberOption): number {
  const n = Number(text);
  const wrong =
    !Number.isFinite(n) ||
    (option.whole === true && !Number.isInteger(n)) ||
    (option.min === undefined ? n <= 0 : n < option.min);
  if (!wrong) return n;
  const kind = option.whole ? 'a whole number' : 'a number';
  throw new Error(`--${name} must be ${kind} ${option.min === undefined ? 'above 0' : `of at least ${option.min}`}`);
}

/** Parses `argv` by `spec`: every number checked (an error names the option), flags false unless given. */
export function parseBenchOptions<N extends string, T extends string = never, F extends string = never>(
  argv: string[],
  spec: OptionSpec<N, T, F>,
): Record<N, number> & Record<T, string> & Record<F, boolean> {
  const texts = (spec.texts ?? {}) as Record<T, string>;
  const flags = spec.flags ?? [];
  const numberNames = Object.keys(spec.numbers) as N[];
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const name of numberNames) options[name] = { type: 'string', default: String(spec.numbers[name].default) };
  for (const name of Object.keys(texts) as T[]) options[name] = { type: 'string', default: texts[name] };
  for (const name of flags) options[name] = { type: 'boolean', default: false };
  const { values } = parseArgs({ args: argv, allowPositionals: true, strict: false, options });
  const parsed: Record<string, number | string | boolean> = {};
  for (const name of numberNames) parsed[name] = checked(name, values[name], spec.numbers[name]);
  for (const name of Object.keys(texts)) parsed[name] = String(values[name]);
  for (const name of flags) parsed[name] = values[name] === true;
  return parsed as Record<N, number> & Record<T, string> & Record<F, boolean>;
}

/** `--sizes 1000,3600`: positive whole fleet sizes, each at least `min`. */
export function parseSizes(text: string, min = 1): number[] {
  const sizes = text.split(',').map((s) => Number(s.trim()));
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < min))
    throw new Error(`--sizes must be whole numbers of at least ${min}, e.g. 1000,3600`);
  return sizes;
}
