/**
 * Adaptive interaction quality: while the user drags, orbits or flies, a scene too heavy to draw
 * within the frame budget is drawn at a reduced pixel ratio with its shadow map frozen; once the
 * interaction has been idle for a moment, one frame is drawn at full quality again. Weak GPUs
 * (integrated, or software WebGL) stay responsive; an idle view always shows the full picture.
 */

/** What the quality controller needs of a renderer (THREE.WebGLRenderer has it). */
export interface QualityTarget {
  getPixelRatio(): number;
  setPixelRatio(ratio: number): void;
  shadowMap: { autoUpdate: boolean; needsUpdate: boolean };
}

export interface InteractionQualityOptions {
  /** Frame time the interactive frames aim for, ms. */
  budgetMs?: number;
  /** The lowest pixel ratio an interaction steps down to. */
  minRatio?: number;
  /** How long after the last interaction the full-quality frame is drawn, ms. */
  idleMs?: number;
}

export class InteractionQuality {
  budgetMs: number;
  minRatio: number;
  idleMs: number;
  /** The pixel ratio of a full-quality frame. */
  readonly fullRatio: number;
  /** Draw time of the last full-quality frame, ms (0 until one is drawn). */
  fullDrawMs = 0;
  /** Lowest pixel ratio drawn during the current (or last) interaction. */
  lowestRatio: number;
  private lastActive = -Infinity;
  private reduced = false;

  constructor(
    private readonly target: QualityTarget,
    opts: InteractionQualityOptions = {},
  ) {
    this.budgetMs = opts.budgetMs ?? 33;
    this.minRatio = opts.minRatio ?? 0.25;
    this.idleMs = opts.idleMs ?? 150;
    this.fullRatio = target.getPixelRatio();
    this.lowestRatio = this.fullRatio;
  }

  /** The pixel ratio frames are drawn at now. */
  get ratio(): number {
    return this.target.getPixelRatio();
  }

  /** Whether frames are being drawn at reduced quality (an interaction is going on). */
  get isReduced(): boolean {
    return this.reduced;
  }

  /**
   * Called before drawing a frame. `active`: the user is interacting now. `cheap`: the frame
   * does not draw the scene anew (a layered draw reuses its kept picture and draws only what
   * moves), so its cost is not the scene's and no reduction is needed for it. Returns true when
   * the frame must be drawn although nothing else changed (the full-quality frame after an
   * interaction).
   */
  beforeFrame(now: number, active: boolean, cheap = false): boolean {
    if (active) this.lastActive = now;
    const interacting = now - this.lastActive < this.idleMs;
    if (interacting && !this.reduced && !cheap && this.fullDrawMs > this.budgetMs) {
      this.reduced = true;
      // Pixel cost goes with the square of the ratio: start where the last full frame says the
      // budget is met, then step down further if frames still run over.
      this.setRatio(this.fullRatio * Math.sqrt(this.budgetMs / this.fullDrawMs));
      this.lowestRatio = this.ratio;
      // The shadow pass draws the whole scene again: the shadows of the moment the interaction
      // began are kept, and drawn anew when it ends.
      this.target.shadowMap.autoUpdate = false;
      return false;
    }
    if (!interacting && this.reduced) {
      this.reduced = false;
      this.target.setPixelRatio(this.fullRatio);
      this.target.shadowMap.autoUpdate = true;
      this.target.shadowMap.needsUpdate = true;
      return true;
    }
    return false;
  }

  /**
   * Called after drawing a frame with how long the draw took, ms. A `cheap` frame (one that
   * reused a kept picture of the scene) says nothing about the scene's cost and is not counted.
   */
  afterFrame(drawMs: number, cheap = false): void {
    if (cheap) return;
    if (!this.reduced) {
      this.fullDrawMs = drawMs;
      return;
    }
    if (drawMs > this.budgetMs && this.ratio > this.minRatio) {
      this.setRatio(this.ratio / 2);
      this.lowestRatio = Math.min(this.lowestRatio, this.ratio);
    }
  }

  /** Sets a reduced ratio, quantised to a power-of-two step of the full one, within [minRatio, fullRatio]. */
  private setRatio(r: number): void {
    const step = 2 ** Math.floor(Math.log2(Math.max(r, 1e-6) / this.fullRatio));
    const next = Math.min(this.fullRatio, Math.max(this.minRatio, this.fullRatio * step));
    if (next !== this.target.getPixelRatio()) this.target.setPixelRatio(next);
  }
}
