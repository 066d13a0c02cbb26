import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

/** Colour only for a person at a terminal; NO_COLOR (https://no-color.org) turns it off. */
export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY || process.env.NO_COLOR !== undefined) return text;
  return styleText(style, text);
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printError(line: string): void {
  process.stderr.write(`${paint('red', 'error:', process.stderr)} ${line}\n`);
}

/** A two-column table of labels and values, labels padded to one width. */
export function printFields(rows: [string, string][]): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) print(`${paint('dim', label.padEnd(width))}  ${value}`);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}
