/**
 * A process-mode fleet instance outlives its fleet only by accident: a fleet killed with
 * SIGKILL (or crashed) cannot drain its children, and a restarted fleet would then collide with
 * them on their ports. The fleet names itself in each child's environment; the child checks
 * every half second that it is still its parent (a child whose parent died is re-parented to
 * init or a subreaper) and, once it is not, drains and exits as on SIGTERM.
 */

/** The variable holding the fleet's pid in each process-mode instance's environment. */
export const FLEET_PID_ENV = 'KEEL_FLEET_PID';
const CHECK_EVERY_MS = 500;

/**
 * Calls `onGone` once when this process's parent is no longer the fleet named in `env`; does
 * nothing (returns null) for a process no fleet started. Returns a function that stops watching.
 */
export function watchFleetParent(env: NodeJS.ProcessEnv, onGone: (why: string) => void, ppid: () => number = () => process.ppid): (() => void) | null {
  const fleet = Number(env[FLEET_PID_ENV]);
  if (!Number.isSafeInteger(fleet) || fleet <= 0) return null;
  const check = () => {
    const now = ppid();
    if (now === fleet) return;
    clearInterval(timer);
    onGone(`the fleet (pid ${fleet}) is gone; parent now pid ${now}`);
  };
  const timer = setInterval(check, CHECK_EVERY_MS);
  timer.unref(); // never what keeps the process alive
  return () => clearInterval(timer);
}
