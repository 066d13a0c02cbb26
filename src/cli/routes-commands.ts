import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createFileRegistry, fromBinary, fromJson, toBinary, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Counterparty, Route, Transport, type RouteMatch } from '../gen/caravan/operations/v1/routes';
import { agentMatchKind } from '../routing/route-rule';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { withOfficer } from './officer-session';
import { columns, isoSeconds, millisOf, wholeNumber } from './operations-commands';
import { paint, print, printError, printJson } from './terminal-output';

const SPEC_KEYS = ['name', 'address', 'transport', 'deadline-ms', 'server-name', 'ca-file'] as const;
type SpecKey = (typeof SPEC_KEYS)[number];
const isSpecKey = (key: string): key is SpecKey => (SPEC_KEYS as readonly string[]).includes(key);

const TRANSPORTS: Readonly<Record<string, Transport>> = {
  tls: Transport.TRANSPORT_TLS,
  plaintext: Transport.TRANSPORT_PLAINTEXT,
};

/**
 * One --counterparty spec, e.g. name=rzbm-primary,address=10.0.0.5:50061,ca-file=ca.pem. Only its
 * syntax is checked here; what the values must be is the gateway's to say, for every field at
 * once. The CA file is read on this machine: the gateway gets the PEM, never a local path.
 */
export function parseCounterpartySpec(spec: string): Counterparty {
  const fields = new Map<SpecKey, string>();
  for (const pair of spec.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${pair}" is not key=value (keys: ${SPEC_KEYS.join(', ')})`);
    const key = pair.slice(0, eq).trim();
    if (!isSpecKey(key))
      throw new InvalidArgumentError(`unknown key "${key}" (keys: ${SPEC_KEYS.join(', ')})`);
    if (fields.has(key)) throw new InvalidArgumentError(`"${key}" is given twice`);
    fields.set(key, pair.slice(eq + 1).trim());
  }
  const name = fields.get('name');
  const address = fields.get('address');
  if (!name || !address) throw new InvalidArgumentError('name and address are required');
  const transportName = (fields.get('transport') ?? 'tls').toLowerCase();
  const transport = TRANSPORTS[transportName];
  if (transport === undefined) throw new InvalidArgumentError('transport must be tls or plaintext');
  const deadlineText = fields.get('deadline-ms') ?? '0';
  if (!/^\d{1,9}$/.test(deadlineText)) {
    throw new InvalidArgumentError('deadline-ms must be a whole number of milliseconds');
  }
  const caFile = fields.get('ca-file');
  let caPem = '';
  if (caFile !== undefined) {
    try {
      caPem = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(
        `cannot read ca-file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  return {
    name,
    address,
    transport,
    serverName: fields.get('server-name') ?? '',
    caPem,
    deadlineMs: Number(deadlineText),
  };
}

/**
 * Parses proto JSON with the descriptor set the gateway serves for reflection, because it refuses
 * unknown keys and wrong types (a misspelt "prority" must not silently become priority 0), which
 * the generated fromJSON does not.
 */
function routeFromJson(json: JsonValue): Route {
  const set = fromBinary(
    FileDescriptorSetSchema,
    readFileSync(path.join(__dirname, '..', 'gen', 'caravan.binpb')),
  );
  const schema = createFileRegistry(set).getMessage('caravan.operations.v1.Route');
  if (schema === undefined) throw new Error('caravan.operations.v1.Route is missing from the descriptor set');
  return Route.decode(toBinary(schema, fromJson(schema, json)));
}

/** The whole rule from a file ('-' for stdin), with the id taken from the command line when absent. */
function readRouteFile(file: string, id: string): Route | string {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    return `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (err) {
    return `${file} is not valid JSON: ${(err as Error).message}`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return `${file} must hold one JSON object: a caravan.operations.v1.Route in the proto JSON mapping`;
  }
  let route: Route;
  try {
    route = routeFromJson(json);
  } catch (err) {
    return `${file}: ${(err as Error).message}`;
  }
  // The id on the command line guards against replacing another rule with a copied file.
  if (route.id !== '' && route.id !== id) return `${file} is rule "${route.id}", not "${id}"`;
  return { ...route, id };
}

interface PutOptions {
  file?: string;
  creditorAgent?: string;
  currency?: string;
  minAmount?: string;
  maxAmount?: string;
  priority?: number;
  counterparty?: Counterparty[];
  json?: boolean;
}

function routeFromOptions(id: string, o: PutOptions): Route | string {
  if (o.file !== undefined) return readRouteFile(o.file, id);
  if (o.counterparty === undefined) {
    return 'give at least one --counterparty, or --file with the whole rule';
  }
  return {
    id,
    match: {
      creditorAgent: o.creditorAgent ?? '',
      currency: o.currency ?? '',
      minAmount: o.minAmount ?? '',
      maxAmount: o.maxAmount ?? '',
    },
    priority: o.priority ?? 100,
    counterparties: o.counterparty,
    updatedBy: '',
    updateTime: undefined,
  };
}

function agentLabel(agent: string): string {
  switch (agentMatchKind(agent)) {
    case 'any':
      return 'any';
    case 'country':
      return `${agent} (country)`;
    case 'bic8':
      return `${agent} (every branch)`;
    case 'bic11':
      return agent;
  }
}

function amountLabel(m: RouteMatch | undefined): string {
  const min = m?.minAmount ?? '';
  const max = m?.maxAmount ?? '';
  if (min !== '' && max !== '') return `${min} to ${max}`;
  if (min !== '') return `≥ ${min}`;
  return max !== '' ? `≤ ${max}` : 'any';
}

function caLabel(pem: string): string {
  try {
    const subject = new X509Certificate(pem).subject.split('\n');
    return `CA ${subject.find((part) => part.startsWith('CN='))?.slice(3) ?? subject.join(', ')}`;
  } catch {
    return 'CA (unreadable PEM)';
  }
}

function counterpartyRow(c: Counterparty, n: number): string[] {
  const tls = c.transport === Transport.TRANSPORT_TLS;
  const extras = [
    c.serverName ? `server name ${c.serverName}` : '',
    tls ? (c.caPem ? caLabel(c.caPem) : "the gateway's CA") : '',
  ].filter((s) => s !== '');
  return [
    `     ${n}.`,
    c.name,
    c.address,
    tls ? 'tls' : paint('yellow', 'plaintext'),
    c.deadlineMs > 0 ? `${c.deadlineMs} ms` : 'default deadline',
    extras.join(', '),
  ];
}

/** Each rule on a line, and under it its counterparties in failover order. */
function routeLines(routes: readonly Route[], numbered: boolean): string[] {
  const head = ['#', 'ID', 'PRIORITY', 'CREDITOR AGENT', 'CURRENCY', 'AMOUNT', 'CHANGED'];
  const rules = columns([
    numbered ? head : head.slice(1),
    ...routes.map((r, i) => [
      ...(numbered ? [String(i + 1)] : []),
      paint('bold', r.id),
      String(r.priority),
      agentLabel(r.match?.creditorAgent ?? ''),
      r.match?.currency || 'any',
      amountLabel(r.match),
      `${r.updatedBy} ${isoSeconds(millisOf(r.updateTime))}`,
    ]),
  ]);
  const counterparties = columns(
    routes.flatMap((r) => r.counterparties.map((c, j) => counterpartyRow(c, j + 1))),
  );
  const lines = [paint('dim', rules[0])];
  let next = 0;
  routes.forEach((r, i) => {
    lines.push(rules[i + 1], ...counterparties.slice(next, next + r.counterparties.length));
    next += r.counterparties.length;
  });
  return lines;
}

const collectCounterparty = (spec: string, previous: Counterparty[] = []) => [
  ...previous,
  parseCounterpartySpec(spec),
];
const upperCase = (value: string) => value.toUpperCase();

export function registerRoutesCommands(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  const routes = program
    .command('routes')
    .description('the route table: which counterparties receive which instructions (operations role)')
    .addHelpText(
      'after',
      `
Of the rules matching an instruction, the lowest priority number wins; then the more specific
creditor agent (11-character BIC, 8-character BIC, country, any); then the id. Counterparties are
tried in failover order. An instruction no rule matches is rejected at intake with CNOR.

Examples:
  caravan routes
  caravan routes put ru-raiffeisen --creditor-agent RZBMRUMM --currency KZT \\
      --counterparty name=rzbm-primary,address=10.0.0.5:50061
  caravan routes remove ru-raiffeisen
`,
    );

  routes
    .command('list', { isDefault: true })
    .description('the rules in the order they are considered, with their counterparties in failover order')
    .option(
      '--json',
      'print JSON: {"version", "routes": [Route…]} (a route is valid input for `routes put --file`)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  caravan routes list --json | jq \'.routes[] | select(.id == "ru-raiffeisen")\'\n',
    )
    .action((opts: { json?: boolean }) =>
      run(() =>
        withOfficer('operations', opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.listRoutes.bind(client),
            {},
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) {
            printJson({ version: res.version, routes: res.routes.map((r) => Route.toJSON(r)) });
            return EXIT.ok;
          }
          if (res.routes.length === 0) {
            print(
              `route table version ${res.version}: no rules, so intake rejects every instruction with CNOR; add one with \`caravan routes put\``,
            );
            return EXIT.ok;
          }
          const n = res.routes.length;
          print(
            `route table version ${res.version}: ${n} rule${n === 1 ? '' : 's'} in the order they are considered, counterparties in failover order`,
          );
          for (const line of routeLines(res.routes, true)) print(line);
          return EXIT.ok;
        }),
      ),
    );

  routes
    .command('put')
    .description('add a rule, or replace the rule with this id')
    .argument('<id>', 'the rule id: lower-case letters, digits, ".", "_" or "-"')
    .option(
      '--creditor-agent <agent>',
      'an 11- or 8-character BIC (every branch) or a country code; any when absent',
      upperCase,
    )
    .option('--currency <code>', 'an ISO 4217 currency or crypto-asset code; any when absent', upperCase)
    .option('--min-amount <decimal>', 'match amounts of at least this much')
    .option('--max-amount <decimal>', 'match amounts of at most this much')
    .addOption(
      new Option('--priority <n>', 'lower numbers win; 0 is the highest (default 100)').argParser(
        wholeNumber,
      ),
    )
    .option(
      '--counterparty <spec>',
      'a counterparty, repeated in failover order: name=…,address=host:port[,transport=tls|plaintext][,deadline-ms=…][,server-name=…][,ca-file=…]',
      collectCounterparty,
    )
    .addOption(
      new Option(
        '--file <route.json>',
        "the whole rule as proto JSON (a Route, as `routes list --json` prints it); '-' for stdin",
      ).conflicts(['creditorAgent', 'currency', 'minAmount', 'maxAmount', 'priority', 'counterparty']),
    )
    .option('--json', 'print JSON: {"route", "version", "replaced"}')
    .addHelpText(
      'after',
      `
transport defaults to tls; ca-file is read here and sent as the CA's PEM (without it the gateway's
own CA is used); deadline-ms 0 or absent uses the gateway's delivery deadline.

Examples:
  caravan routes put ru-raiffeisen --creditor-agent RZBMRUMM --currency KZT --priority 10 \\
      --counterparty name=rzbm-primary,address=10.0.0.5:50061,deadline-ms=3000,server-name=receiver.rzbm.ru,ca-file=rzbm-ca.pem \\
      --counterparty name=rzbm-backup,address=10.0.0.6:50061,server-name=receiver.rzbm.ru,ca-file=rzbm-ca.pem
  caravan routes put ge-large --file ge-large.json
`,
    )
    .action((id: string, opts: PutOptions) =>
      run(() => {
        const route = routeFromOptions(id, opts);
        if (typeof route === 'string') {
          printError(route);
          return Promise.resolve(EXIT.usage);
        }
        return withOfficer('operations', opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.putRoute.bind(client),
            { route },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) {
            printJson({
              route: res.route && Route.toJSON(res.route),
              version: res.version,
              replaced: res.replaced,
            });
            return EXIT.ok;
          }
          const verb = res.replaced ? paint('yellow', 'replaced') : paint('green', 'added');
          print(`${verb} route ${id} (route table version ${res.version})`);
          if (res.route) for (const line of routeLines([res.route], false)) print(line);
          return EXIT.ok;
        });
      }),
    );

  routes
    .command('remove')
    .description(
      'remove a rule; instructions it took that wait for delivery fail with CNOR unless another rule takes them',
    )
    .argument('<id>', 'the rule id')
    .option('--json', 'print JSON: {"id", "version"}')
    .addHelpText('after', '\nExample:\n  caravan routes remove ru-raiffeisen\n')
    .action((id: string, opts: { json?: boolean }) =>
      run(() =>
        withOfficer('operations', opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.removeRoute.bind(client),
            { id },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson({ id, version: res.version });
          else print(`${paint('yellow', 'removed')} route ${id} (route table version ${res.version})`);
          return EXIT.ok;
        }),
      ),
    );
}
