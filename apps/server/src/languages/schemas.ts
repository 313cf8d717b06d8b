import { z } from 'zod';

export const Language = z.object({
  code: z.string().describe('BCP-47 primary language subtag, e.g. "de"'),
  name: z.string(),
  native_name: z.string(),
  voices: z.number().int().describe('Synthetic voices this installation has for the language'),
  providers: z.array(z.string()),
  trainable: z.boolean(),
  reason: z.string().nullable().describe('Why the language cannot be trained here (null when it can)'),
  real_speech_negatives: z
    .boolean()
    .describe(
      'Whether recorded human speech of the language is among the training negatives (never, so far)',
    ),
});
export type Language = z.infer<typeof Language>;

export const LanguageList = z.object({ default: z.string(), languages: z.array(Language) });
export type LanguageList = z.infer<typeof LanguageList>;
