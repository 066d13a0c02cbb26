/**
 * The scale (number of decimals) of every currency and crypto asset an amount may be written in.
 * An amount with more decimals than its scale cannot be booked by the receiving ledger, so intake
 * refuses it instead of rounding someone's money.
 */

/**
 * ISO 4217 active codes with their minor units. Fund and metal codes without minor units (XAU,
 * XAG, XPD, XPT, XBA-XBD, XDR, XSU, XUA, XTS, XXX) are left out: they are not payable amounts.
 * Withdrawn codes (HRK, ANG, SLL, ZWL, CUC) are left out too; their successors (EUR, XCG, SLE, ZWG)
 * are in.
 */
const ISO_4217_SCALES: ReadonlyMap<string, number> = new Map([
  ...codes(0, 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'),
  ...codes(3, 'BHD IQD JOD KWD LYD OMR TND'),
  ...codes(4, 'CLF UYW'),
  ...codes(
    2,
    [
      'AED AFN ALL AMD AOA ARS AUD AWG AZN',
      'BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD',
      'CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK',
      'DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD',
      'HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT',
      'LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN',
      'NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB',
      'SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL',
      'THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS',
      'VED VES WST XCD XCG YER ZAR ZMW ZWG',
    ].join(' '),
  ),
]);

/**
 * Crypto assets accepted for settlement, with the decimals of their canonical on-chain unit
 * (satoshi, wei, ...). Stablecoins use the decimals of their main issuance (USDT/USDC on Ethereum
 * and Tron: 6); an exchange that books more finely must round before submitting.
 */
const CRYPTO_SCALES: ReadonlyMap<string, number> = new Map([
  ['BTC', 8],
  ['ETH', 18],
  ['USDT', 6],
  ['USDC', 6],
  ['TRX', 6],
  ['LTC', 8],
  ['XRP', 6],
  ['SOL', 9],
  ['TON', 9],
  ['BNB', 18],
  ['DAI', 18],
]);

function codes(scale: number, list: string): [string, number][] {
  return list.split(' ').map((code) => [code, scale]);
}

/** The number of decimals `code` allows, or undefined when it is neither ISO 4217 nor a registered crypto asset. */
export function currencyScale(code: string): number | undefined {
  return ISO_4217_SCALES.get(code) ?? CRYPTO_SCALES.get(code);
}

/** Whether `code` is a registered crypto asset rather than a fiat currency. */
export function isCryptoAsset(code: string): boolean {
  return CRYPTO_SCALES.has(code);
}
