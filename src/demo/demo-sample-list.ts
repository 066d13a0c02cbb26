/**
 * The demo's screening lists, in the internal CSV format an officer imports with `caravan lists
 * import <list> --format csv` (see src/compliance/importers/internal-list-import.ts). Every name
 * and number is made up: no real person, company or card.
 */

/** A made-up sanctioned company: listed by name and by its (made-up, check-digit valid) INN. */
export const SANCTIONED = {
  name: 'Demo Sanctioned Trading LLC',
  /** Russian INN of an organisation: 7·2+7·4+0+1·3+9·5+9·9+9·4+9·6+9·8 = 333, 333 mod 11 = 3. */
  inn: '7701999993',
} as const;

export interface SampleList {
  list: string;
  csv: string;
}

export const SAMPLE_LISTS: readonly SampleList[] = [
  {
    list: 'demo-sanctions',
    csv: [
      'kind,id,ref,subject,programs,name,type,countries,scheme,country,value',
      `name,demo-001,DEMO-001,,DEMO,${SANCTIONED.name},entity,RU,,,`,
      `national-id,demo-001-inn,DEMO-001,${SANCTIONED.name},DEMO,,,,ru-inn,RU,${SANCTIONED.inn}`,
    ].join('\n'),
  },
  {
    list: 'card-schemes',
    csv: [
      'kind,id,ref,subject,programs,scheme,iin_ranges',
      'card-scheme,,DEMO-MIR,Mir card scheme,INTERNAL,MIR,2200-2204',
    ].join('\n'),
  },
];
