/**
 * Name entries from the real list snapshots (test/fixtures/sanctions, or ../shared/data/sanctions
 * with the same layout), for screening tests and the screening benchmark. Deliberately simple:
 * names, aliases, type and programmes only, no addresses or identifiers (the compliance
 * importers do the full job).
 */
import { join, resolve } from 'node:path';
import type { AliasKind, NameEntry, PartyType } from '../../src/screening/list-entry';
import { fixtureExists, parseCsv, readFixtureText } from './screening-csv';

/** The copy every clone has; files over ~200 KB are gzipped there. */
export const FIXTURE_SANCTIONS_DIR = resolve(__dirname, '../fixtures/sanctions');

/** OFAC writes null as "-0-" (with a trailing space). */
function ofacValue(field: string | undefined): string {
  const value = (field ?? '').trim();
  return value === '-0-' ? '' : value;
}

function ofacType(field: string | undefined): PartyType {
  switch (ofacValue(field)) {
    case 'individual':
      return 'person';
    case 'vessel':
      return 'vessel';
    case 'aircraft':
      return 'aircraft';
    default:
      return 'entity';
  }
}

function ofacAliasKind(field: string | undefined): AliasKind {
  const kind = ofacValue(field).toLowerCase();
  return kind === 'fka' || kind === 'nka' ? kind : 'aka';
}

/**
 * One OFAC list in the legacy CSV layout: primaries (ent_num, name, type, programs) joined with
 * an alias file that may come from another date, so aliases of delisted entries are skipped.
 */
export function loadOfacCsv(options: { source: string; primary: string; aliases?: string }): NameEntry[] {
  const entries = new Map<string, NameEntry>();
  for (const row of parseCsv(readFixtureText(options.primary, 'latin1'))) {
    const ref = row[0]?.trim();
    const name = ofacValue(row[1]);
    if (!ref || !name) continue;
    entries.set(ref, {
      kind: 'name',
      id: `${options.source}:${ref}`,
      ref,
      subject: name,
      programs: ofacValue(row[3])
        .split('] [')
        .map((p) => p.replace(/[[\]]/g, '').trim())
        .filter((p) => p !== ''),
      name,
      aliases: [],
      type: ofacType(row[2]),
      countries: [],
    });
  }
  if (options.aliases && fixtureExists(options.aliases)) {
    for (const row of parseCsv(readFixtureText(options.aliases, 'latin1'))) {
      const entry = entries.get(row[0]?.trim() ?? '');
      const alias = ofacValue(row[3]);
      if (entry && alias) entry.aliases.push({ name: alias, kind: ofacAliasKind(row[2]) });
    }
  }
  return [...entries.values()];
}

function xmlText(block: string, tag: string): string[] {
  const values: string[] = [];
  for (const match of block.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))) {
    const value = decodeXml(match[1]).trim();
    if (value) values.push(value);
  }
  return values;
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The UN consolidated XML: individuals and entities with aliases and original-script names. */
export function loadUnXml(path: string): NameEntry[] {
  const xml = readFixtureText(path);
  const entries: NameEntry[] = [];
  for (const match of xml.matchAll(/<(INDIVIDUAL|ENTITY)>([\s\S]*?)<\/\1>/g)) {
    const block = match[2];
    const ref = xmlText(block, 'REFERENCE_NUMBER')[0];
    const name = ['FIRST_NAME', 'SECOND_NAME', 'THIRD_NAME', 'FOURTH_NAME']
      .flatMap((tag) => xmlText(block, tag))
      .join(' ');
    if (!ref || !name) continue;
    const aliases: NameEntry['aliases'] = [];
    for (const alias of block.matchAll(
      /<(?:INDIVIDUAL|ENTITY)_ALIAS>([\s\S]*?)<\/(?:INDIVIDUAL|ENTITY)_ALIAS>/g,
    )) {
      const aliasName = xmlText(alias[1], 'ALIAS_NAME')[0];
      const quality = xmlText(alias[1], 'QUALITY')[0] ?? '';
      if (aliasName) aliases.push({ name: aliasName, kind: /low/i.test(quality) ? 'weak' : 'aka' });
    }
    for (const original of xmlText(block, 'NAME_ORIGINAL_SCRIPT'))
      aliases.push({ name: original, kind: 'original-script' });
    entries.push({
      kind: 'name',
      id: `un:${ref}`,
      ref,
      subject: name,
      programs: xmlText(block, 'UN_LIST_TYPE'),
      name,
      aliases,
      type: match[1] === 'INDIVIDUAL' ? 'person' : 'entity',
      countries: [],
    });
  }
  return entries;
}

/**
 * The list set of DESIGN.md "Targets": OFAC SDN 2024-05-03 with the newest aliases, the OFAC
 * consolidated (non-SDN) list and the UN consolidated list.
 */
export function loadAllLists(dir: string = FIXTURE_SANCTIONS_DIR): NameEntry[] {
  return [
    ...loadOfacCsv({
      source: 'sdn',
      primary: join(dir, 'ofac_sdn_2024-05-03/sdn.csv'),
      aliases: join(dir, 'ofac_sdn_aliases_2025-12-24/alt.csv'),
    }),
    ...loadOfacCsv({
      source: 'cons',
      primary: join(dir, 'ofac_non_sdn_2025-12-19/cons_prim.csv'),
      aliases: join(dir, 'ofac_non_sdn_2025-12-19/cons_alt.csv'),
    }),
    ...loadUnXml(join(dir, 'un_consolidated_2026-02-27/consolidated.xml')),
  ];
}
