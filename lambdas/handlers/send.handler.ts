// Lambda entry point for the send function. Placeholder until its owner lands the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('send handler not implemented yet');
};
