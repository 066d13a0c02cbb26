import type { NameEntry } from '../../src/screening/list-entry';

/** A name entry of an entity on programme TEST, its ref its id, unless `extra` says otherwise. */
export function nameEntry(id: string, name: string, extra: Partial<NameEntry> = {}): NameEntry {
  return {
    kind: 'name',
    id,
    ref: id,
    subject: name,
    programs: ['TEST'],
    name,
    aliases: [],
    type: 'entity',
    countries: [],
    ...extra,
  };
}
