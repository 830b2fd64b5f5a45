/**
 * Counts what a suite of seeded runs checked, for the line each suite ends with:
 * `<name>: runs=N operations checked=M anomalies found=K`.
 */
export class RunSummary {
  runs = 0;
  operations = 0;
  anomalies = 0;

  constructor(private readonly name: string) {}

  add(operations: number, anomalies: number): void {
    this.runs += 1;
    this.operations += operations;
    this.anomalies += anomalies;
  }

  line(): string {
    return `${this.name}: runs=${this.runs} operations checked=${this.operations} anomalies found=${this.anomalies}`;
  }
}

/** Seeds for a suite: ORDO_SIM_SEED replays one seed; otherwise `count` seeds from `first`. */
export function seedsFor(first: number, count: number): number[] {
  const only = process.env.ORDO_SIM_SEED;
  if (only !== undefined && only !== '') return [Number(only)];
  return Array.from({ length: count }, (_, index) => first + index);
}
