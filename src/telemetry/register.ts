/**
 * The `--require` entry: `node --require ./dist/telemetry/register.js <your entry>` starts
 * OpenTelemetry (configured by the OTEL_* environment variables, see sdk.ts) before anything loads
 * grpc-js or ioredis, which their instrumentations need in order to patch them. bin/caravan loads
 * it first for the server commands.
 */
import { startTelemetry } from './sdk';

startTelemetry({ instrument: true });
