import { z } from 'zod';
import type { StatusMessage } from './notifier';
import type { OrderFrame } from './frames';

const statusMessageSchema = z.object({
  frame: z.looseObject({ type: z.literal('order'), orderId: z.string(), seq: z.number().int().positive() }),
  recipients: z.array(z.string()),
  mgmtEndpoint: z.string(),
});

export const parseStatusMessage = (body: string): StatusMessage => {
  const parsed = statusMessageSchema.parse(JSON.parse(body));
  return { ...parsed, frame: parsed.frame as unknown as OrderFrame };
};
