import type { LogFormat, LogLevel } from '../config.js';

/** What the health worker is started with. */
export interface HealthWorkerData {
  buffer: SharedArrayBuffer;
  id: string;
  world: string;
  port: number;
  host: string;
  stallMs: number;
  watchdogMs: number;
  healthFile: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  color: boolean;
  /** Epoch ms at instance start, for uptime. */
  startedAt: number;
  /** Process exit code when the watchdog fires. */
  exitCode: number;
}

export type WorkerToMain =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string }
  | { type: 'metrics-request'; id: number };

export type MainToWorker =
  | { type: 'metrics-response'; id: number; text: string }
  | { type: 'detail'; text: string }
  /** Why the running instance is not ready (ticks keep failing), or null once it is again. */
  | { type: 'problem'; text: string | null }
  | { type: 'stop' };
