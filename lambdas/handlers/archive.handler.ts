// Lambda entry point for the archive function. Placeholder until its owner lands the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('archive handler not implemented yet');
};
