/**
 * The Redis keys of one reference receiver. They share the hash tag `{recv:<name>}`, so the one
 * script that records a delivery touches a single Redis Cluster slot.
 */
export interface ReceiverKeys {
  /** Hash: UETR → the answer given to its first delivery (JSON), repeated to every later one. */
  received: string;
  /** Stream of first deliveries: uetr, attempt, at (ms), accepted ('1' | '0'), code. */
  receipts: string;
  /** Hash: UETR → how many deliveries of it arrived, first and repeated. */
  deliveries: string;
}

export function receiverKeys(prefix: string, name: string): ReceiverKeys {
  if (/[{}]/.test(prefix + name)) {
    throw new Error(
      'the Redis key prefix and the receiver name must not contain { or }: they would change the hash slot',
    );
  }
  const tag = `${prefix}:{recv:${name}}`;
  return {
    received: `${tag}:received`,
    receipts: `${tag}:receipts`,
    deliveries: `${tag}:deliveries`,
  };
}
