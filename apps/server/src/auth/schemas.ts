/**
 * The auth domain's contract (docs/api.md §2.2, §2.3): request and response schemas given to the routes, and the
 * service's input and output types inferred from them.
 */
import { z } from 'zod';

export const Email = z.string().trim().toLowerCase().max(254).email();
export const Password = z.string().min(8).max(128);
export const Name = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}]*$/u, 'Name must not contain control characters');

export const Message = z.object({ message: z.string() });
export const UserBrief = z.object({
  id: z.number().int(),
  email: z.string(),
  name: z.string(),
  email_verified: z.boolean(),
});
export const AuthResponse = z.object({
  token: z.string(),
  token_type: z.literal('bearer'),
  expires_at: z.string(),
  user: UserBrief,
});
export const UserOut = UserBrief.extend({ created_at: z.string() });
export const ApiKeyOut = z.object({
  id: z.number().int(),
  name: z.string(),
  prefix: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
});
export const ApiKeyCreated = ApiKeyOut.extend({ key: z.string() });

export const RegisterBody = z.object({ email: Email, password: Password, name: Name });
export const LoginBody = z.object({ email: Email, password: Password });
export const DownloadTokenBody = z.object({
  action: z.enum(['model_download', 'training_stream']),
  resource_id: z.number().int().min(1),
});
export const DownloadTokenOut = z.object({ token: z.string(), expires_in_seconds: z.number().int() });
export const TokenBody = z.object({ token: z.string().min(1).max(4096) });
export const ForgotPasswordBody = z.object({ email: Email });
export const ResetPasswordBody = z.object({ token: z.string().min(1).max(4096), password: Password });
export const ChangePasswordBody = z.object({
  current_password: z.string().min(1).max(128),
  new_password: Password,
});
export const ChangePasswordOut = z.object({ message: z.string(), token: z.string(), expires_at: z.string() });
export const ApiKeyCreateBody = z.object({ name: z.string().trim().min(1).max(100) });
export const ApiKeyParams = z.object({ key_id: z.coerce.number().int().min(1) });

export type RegisterInput = z.output<typeof RegisterBody>;
export type LoginInput = z.output<typeof LoginBody>;
export type AuthResponse = z.output<typeof AuthResponse>;
export type UserOut = z.output<typeof UserOut>;
export type ApiKeyOut = z.output<typeof ApiKeyOut>;
export type ApiKeyCreated = z.output<typeof ApiKeyCreated>;
export type ChangePasswordOut = z.output<typeof ChangePasswordOut>;
export type DownloadAction = z.output<typeof DownloadTokenBody>['action'];
