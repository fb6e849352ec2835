// Lambda entry point for the worker function. Placeholder until its owner lands the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('worker handler not implemented yet');
};
