import { z } from 'zod';
import type { StatusMessage } from './notifier';
import type { OrderFrame } from './frames';

const statusMessageSchema = z.object({
  frame: z.looseObject({ type: z.literal('order'), orderId: z.string(), seq: z.number().int().positive() }),
  recipients: z.array(z.string()),
  mgmtEndpoint: z.string(),
});

/** Validates the envelope but forwards the frame exactly as it was built (key order included). */
export const parseStatusMessage = (body: string): StatusMessage => {
  const raw = JSON.parse(body) as { frame: unknown };
  const parsed = statusMessageSchema.parse(raw);
  return { ...parsed, frame: raw.frame as OrderFrame };
};
