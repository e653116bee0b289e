/** Min, median (the mean of the middle two for an even count) and max of a figure's runs. */
export function stats(v: number[]): { min: number; median: number; max: number } {
  const s = [...v].sort((a, b) => a - b);
  return { min: s[0], median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, max: s[s.length - 1] };
}
