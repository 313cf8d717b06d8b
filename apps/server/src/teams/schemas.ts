/**
 * The teams domain's contract (docs/api.md §2.8): request and response schemas given to the routes, and the service
 * types inferred from them.
 */
import { z } from 'zod';

export const Id = z.coerce.number().int().min(1);
export const Role = z.enum(['owner', 'admin', 'member']);
export const Email = z.string().trim().toLowerCase().max(254).email();
export const Iso = z.string();

export const Member = z.object({
  user_id: z.number(),
  email: z.string(),
  name: z.string(),
  role: Role,
  invited_at: Iso,
  joined_at: Iso,
});
export const TeamResponse = z.object({
  id: z.number(),
  name: z.string(),
  created_at: Iso,
  owner_id: z.number(),
  my_role: Role,
  members: z.array(Member),
});
export const TeamSummary = z.object({
  id: z.number(),
  name: z.string(),
  created_at: Iso,
  owner_id: z.number(),
  member_count: z.number(),
  my_role: Role,
});
export const InvitationOut = z.object({
  id: z.number(),
  team_id: z.number(),
  email: z.string(),
  role: z.enum(['admin', 'member']),
  invited_by: z.number().nullable(),
  created_at: Iso,
  expires_at: Iso,
});
export const Message = z.object({ message: z.string() });

export const TeamParams = z.object({ team_id: Id });
export const MemberParams = z.object({ team_id: Id, user_id: Id });
export const ModelParams = z.object({ team_id: Id, model_id: Id });
export const InvitationParams = z.object({ team_id: Id, invitation_id: Id });

export type MemberOut = z.output<typeof Member>;
export type TeamResponse = z.output<typeof TeamResponse>;
export type TeamSummary = z.output<typeof TeamSummary>;
export type InvitationOut = z.output<typeof InvitationOut>;
