// Lambda entry point for the subscribers function. Placeholder until its owner lands the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('subscribers handler not implemented yet');
};
