/** Where long checks say how far they are: a phase, and optionally the fraction done. */
export type Progress = (phase: string, done?: number, total?: number) => void;

export const silent: Progress = () => {};
