/** Which of the three programs the runtime is part of; chosen once at start. */
export const RunMode = {
  Client: 'client',
  Server: 'server',
  Editor: 'editor',
} as const;
export type RunMode = (typeof RunMode)[keyof typeof RunMode];
