/** What Caravan finds in Redis is not what it wrote there (a corrupted or foreign value). */
export class StoreDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreDataError';
  }
}

/**
 * JSON that Caravan itself wrote to Redis, parsed back. A parse error's message quotes the text
 * around the fault, which for an instruction body, its screening evidence or a list entry is a
 * name or an account: a corrupted value is reported by what it is, without its content.
 */
export function parseStoredJson(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    throw new StoreDataError(`${what} in Redis is not valid JSON`);
  }
}
