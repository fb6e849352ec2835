// Lambda entry point for the ses-events function. Placeholder until its owner lands the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('ses-events handler not implemented yet');
};
