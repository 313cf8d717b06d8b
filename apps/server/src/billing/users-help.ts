/** `violawake users --help` (kept apart so the CLI's help loads nothing else). */
export const USERS_HELP = `Usage: violawake users <list|show|set-tier> [options]

  list [--limit N]            every account: id, email, plan, trainings this month (used/limit), active jobs
  show <email|id>             one account in detail
  set-tier <email|id> <tier>  give the account a plan: free, developer, business, enterprise

Limits: with billing off they come from VIOLAWAKE_MONTHLY_TRAININGS (default unlimited); with Stripe configured,
from the Stripe plans. With the embedded database (no VIOLAWAKE_DB_URL) stop the server first.`;
