/**
 * Splits one CSV line into fields: comma-separated, a field may be quoted with `"` and then holds
 * commas and doubled quotes (`""` for one `"`). Unquoted fields are trimmed, quoted ones kept as
 * written.
 *
 * A record is one line: a quoted field may not run on to the next line. Neither OFAC's legacy files
 * nor our internal format need that, and refusing it confines an unbalanced quote to the line that
 * has it instead of swallowing the rest of the file into one field.
 */
export function splitCsvLine(text: string): { fields: string[]; error?: undefined } | { error: string } {
  // Most lines of real files have no quotes at all.
  if (!text.includes('"')) return { fields: text.split(',').map((f) => f.trim()) };

  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '"') {
      const column = fields.length + 1;
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1)
          return { error: `unbalanced quote: field ${column} opens a quote that is not closed` };
        if (text[quote + 1] === '"') {
          value += text.slice(from, quote + 1);
          from = quote + 2;
          continue;
        }
        value += text.slice(from, quote);
        i = quote + 1;
        break;
      }
      while (text[i] === ' ' || text[i] === '\t') i++;
      fields.push(value);
      if (i >= text.length) return { fields };
      if (text[i] !== ',') {
        return {
          error: `unexpected text after the closing quote of field ${column}: ${JSON.stringify(text.slice(i, i + 20))}`,
        };
      }
      i++;
    } else {
      const comma = text.indexOf(',', i);
      const raw = comma === -1 ? text.slice(i) : text.slice(i, comma);
      if (raw.includes('"')) {
        return {
          error: `stray quote inside unquoted field ${fields.length + 1}: ${JSON.stringify(raw.slice(0, 40))}`,
        };
      }
      fields.push(raw.trim());
      if (comma === -1) return { fields };
      i = comma + 1;
    }
  }
}
