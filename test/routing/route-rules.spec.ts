import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { orderRoutes, selectRoute } from '../../src/routing/route-match';
import { checkRoute, type RouteRule } from '../../src/routing/route-rule';
import { createTestPki } from '../support/certificates';
import { validInstruction } from '../support/instructions';

function rule(id: string, match: Partial<RouteRule['match']> = {}, priority = 10): RouteRule {
  return {
    id,
    match: { creditorAgent: '', currency: '', minAmount: '', maxAmount: '', ...match },
    priority,
    counterparties: [
      {
        name: id,
        address: '127.0.0.1:50061',
        transport: 'plaintext',
        serverName: '',
        caPem: '',
        deadlineMs: 0,
      },
    ],
    updatedBy: 'ops',
    updatedAtMs: 0,
  };
}

const toRaiffeisen = (bic = 'RZBMRUMM', currency = 'KZT', value = '125000.50') =>
  validInstruction({ creditorAgent: { bic }, amount: { currency, value } });

describe('route rules', () => {
  describe('choosing a rule', () => {
    it('prefers the lowest priority number, whatever the specificity', () => {
      const ordered = orderRoutes([
        rule('exact', { creditorAgent: 'RZBMRUMMXXX' }, 20),
        rule('country', { creditorAgent: 'RU' }, 5),
      ]);
      assert.equal(selectRoute(ordered, toRaiffeisen())?.id, 'country');
    });

    it('among equal priorities prefers BIC11, then BIC8, then country, then any, then the id', () => {
      const rules = [
        rule('any'),
        rule('country', { creditorAgent: 'RU' }),
        rule('bic8', { creditorAgent: 'RZBMRUMM' }),
        rule('bic11', { creditorAgent: 'RZBMRUMM123' }),
        rule('b-bic8', { creditorAgent: 'RZBMRUMM' }),
      ];
      const ordered = orderRoutes(rules);
      assert.deepEqual(
        ordered.map((r) => r.id),
        ['bic11', 'b-bic8', 'bic8', 'country', 'any'],
      );
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM123'))?.id, 'bic11');
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM456'))?.id, 'b-bic8');
      assert.equal(selectRoute(ordered, toRaiffeisen('SABRRUMM'))?.id, 'country');
      assert.equal(selectRoute(ordered, toRaiffeisen('HSBKKZKX'))?.id, 'any');
    });

    it('treats an 8-character BIC and its XXX branch as the same office', () => {
      const ordered = orderRoutes([rule('head-office', { creditorAgent: 'RZBMRUMMXXX' })]);
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM'))?.id, 'head-office');
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMMXXX'))?.id, 'head-office');
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM001')), null);
    });

    it('matches currency and inclusive amount bounds as decimals, not floats', () => {
      const ordered = orderRoutes([
        rule('large', { currency: 'KZT', minAmount: '10000000.00' }, 1),
        rule('small', { currency: 'KZT', maxAmount: '9999999.99' }, 1),
      ]);
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM', 'KZT', '10000000'))?.id, 'large');
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM', 'KZT', '9999999.99'))?.id, 'small');
      assert.equal(selectRoute(ordered, toRaiffeisen('RZBMRUMM', 'USD', '10')), null);
      const precise = orderRoutes([rule('edge', { maxAmount: '0.3' })]);
      assert.equal(selectRoute(precise, toRaiffeisen('RZBMRUMM', 'USDT', '0.300000')), precise[0]);
      assert.equal(selectRoute(precise, toRaiffeisen('RZBMRUMM', 'USDT', '0.3000001')), null);
    });

    it('answers null when nothing matches (intake then rejects with CNOR)', () => {
      assert.equal(selectRoute(orderRoutes([rule('ge', { creditorAgent: 'GE' })]), toRaiffeisen()), null);
      assert.equal(selectRoute([], toRaiffeisen()), null);
    });
  });

  describe('validation', () => {
    const fields = (r: RouteRule) => checkRoute(r).map((v) => v.field);

    it('accepts a complete rule', () => {
      assert.deepEqual(
        checkRoute(
          rule('ru-raiffeisen', {
            creditorAgent: 'RZBMRUMM',
            currency: 'RUB',
            minAmount: '1',
            maxAmount: '1000000',
          }),
        ),
        [],
      );
    });

    it('names every bad field of a rule at once', () => {
      const bad = rule(
        'Bad Id!',
        { creditorAgent: 'rzbmrumm', currency: 'XYZ', minAmount: '1e6', maxAmount: '-5' },
        -1,
      );
      bad.counterparties = [
        { name: '', address: 'no-port', transport: 'plaintext', serverName: 'x', caPem: '', deadlineMs: 10 },
        {
          name: 'dup',
          address: '127.0.0.1:70000',
          transport: 'tls',
          serverName: '',
          caPem: 'not a pem',
          deadlineMs: 0,
        },
        {
          name: 'dup',
          address: '[::1]:50061',
          transport: 'tls',
          serverName: '',
          caPem: '',
          deadlineMs: 700_000,
        },
      ];
      assert.deepEqual(fields(bad).sort(), [
        'counterparties[0].address',
        'counterparties[0].deadline_ms',
        'counterparties[0].name',
        'counterparties[0].transport',
        'counterparties[1].address',
        'counterparties[1].ca_pem',
        'counterparties[2].deadline_ms',
        'counterparties[2].name',
        'id',
        'match.creditor_agent',
        'match.currency',
        'match.max_amount',
        'match.min_amount',
        'priority',
      ]);
    });

    it('refuses min above max, no counterparties, too many counterparties, and an unknown country', () => {
      assert.deepEqual(fields(rule('a', { minAmount: '10', maxAmount: '9.99' })), ['match.max_amount']);
      assert.deepEqual(fields({ ...rule('a'), counterparties: [] }), ['counterparties']);
      const many = rule('a');
      many.counterparties = Array.from({ length: 9 }, (_, i) => ({
        ...many.counterparties[0],
        name: `c${i}`,
      }));
      assert.deepEqual(fields(many), ['counterparties']);
      assert.deepEqual(fields(rule('a', { creditorAgent: 'XX' })), ['match.creditor_agent']);
    });

    it('accepts a CA certificate as ca_pem and refuses a leaf certificate', () => {
      const pki = createTestPki();
      try {
        const withCa = rule('tls');
        withCa.counterparties[0] = {
          ...withCa.counterparties[0],
          transport: 'tls',
          caPem: readFileSync(pki.caFile, 'utf8'),
        };
        assert.deepEqual(checkRoute(withCa), []);
        withCa.counterparties[0] = {
          ...withCa.counterparties[0],
          caPem: readFileSync(pki.serverCertFile, 'utf8'),
        };
        assert.deepEqual(fields(withCa), ['counterparties[0].ca_pem']);
      } finally {
        pki.cleanup();
      }
    });
  });
});
