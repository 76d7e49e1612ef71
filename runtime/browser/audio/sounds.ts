/**
 * Short synthesised sounds through WebAudio: no asset files. The AudioContext is created on the
 * first user gesture (browsers refuse to start one before), and everything is silent while
 * muted or before that.
 */
export class Sounds {
  private ctx: AudioContext | null = null;
  private master: GainNode | null = null;
  private lastImpact = 0;
  muted = false;

  /** Call from a user gesture (click, key). */
  start(): void {
    if (this.ctx || typeof AudioContext === 'undefined') return;
    this.ctx = new AudioContext();
    this.master = this.ctx.createGain();
    this.master.gain.value = 0.35;
    this.master.connect(this.ctx.destination);
  }

  get started(): boolean {
    return this.ctx !== null;
  }

  /** A short rising chirp. */
  jump(): void {
    const ctx = this.live();
    if (!ctx) return;
    const t = ctx.currentTime;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'triangle';
    osc.frequency.setValueAtTime(300, t);
    osc.frequency.exponentialRampToValueAtTime(720, t + 0.12);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.5, t + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
    osc.connect(gain).connect(this.master!);
    osc.start(t);
    osc.stop(t + 0.2);
  }

  /** A low thud, louder for harder hits (`speed` in m/s of speed lost). */
  impact(speed: number): void {
    const ctx = this.live();
    if (!ctx) return;
    const t = ctx.currentTime;
    if (t - this.lastImpact < 0.06) return; // many bodies landing at once make one sound
    this.lastImpact = t;
    const volume = Math.min(1, speed / 12);
    const length = 0.16;
    const buffer = ctx.createBuffer(1, Math.ceil(ctx.sampleRate * length), ctx.sampleRate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 2 - 1) * (1 - i / data.length) ** 3;
    const noise = ctx.createBufferSource();
    noise.buffer = buffer;
    const filter = ctx.createBiquadFilter();
    filter.type = 'lowpass';
    filter.frequency.value = 380;
    const gain = ctx.createGain();
    gain.gain.value = volume;
    noise.connect(filter).connect(gain).connect(this.master!);
    noise.start(t);
  }

  dispose(): void {
    void this.ctx?.close();
    this.ctx = null;
  }

  private live(): AudioContext | null {
    if (this.muted || !this.ctx) return null;
    if (this.ctx.state === 'suspended') void this.ctx.resume();
    return this.ctx;
  }
}
