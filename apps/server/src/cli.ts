/**
 * `violawake <command>`: serve (API + workers), worker, migrate, and the engine commands (train, eval, detect,
 * bank, bench). Exit codes: 0 success, 1 usage error, 2 invalid input or configuration, 3 quality gate (train).
 */
import { parseArgs } from 'node:util';
import { USERS_HELP } from './billing/users-help.ts';
import { type Config, ConfigError, configSecrets, loadConfig, readEnvironment } from './core/config.ts';
import { openDatabase } from './core/db/client.ts';
import { runMigrations } from './core/db/migrate.ts';
import { formatFatalError, registerSecrets } from './core/logger.ts';

const ENGINE_COMMANDS = new Set(['train', 'eval', 'detect', 'bank', 'bench']);

const HELP: Record<string, string> = {
  main: `Usage: violawake <command> [options]

Commands:
  serve [--no-workers]   start the HTTP API and, unless --no-workers, the background workers (what npm start runs)
  worker                 run background workers only (training jobs, email delivery, retention); needs VIOLAWAKE_DB_URL
  migrate                apply database migrations and exit
  users list|show|set-tier   accounts, their plan and usage this month; set a user's plan (self-hosted)
  train                  train a wake-word model from recordings or text (see violawake train --help)
  eval                   evaluate a model on positive and negative audio
  detect                 run models over WAV files and print detections
  bank build             build the negative embedding bank
  bench                  run the engine's development benchmark

Configuration comes from VIOLAWAKE_* environment variables (and .env); see the README.
Run "violawake <command> --help" for a command's options.`,
  serve: `Usage: violawake serve [--no-workers]

Start the HTTP API on VIOLAWAKE_HOST:VIOLAWAKE_PORT (default 127.0.0.1:8000 in development, 0.0.0.0:8000 in production).
  --no-workers   serve the API only (role "api"); workers run elsewhere with "violawake worker"
Without VIOLAWAKE_DB_URL the embedded database in VIOLAWAKE_DATA_DIR is used (single process, API + workers).`,
  worker: `Usage: violawake worker

Run background workers only: training jobs, email outbox delivery, the job reaper and retention.
Needs VIOLAWAKE_DB_URL (PostgreSQL); start as many as you like on any machine sharing the database.`,
  migrate: `Usage: violawake migrate

Apply pending database migrations (under an advisory lock) and exit. Safe to run concurrently and repeatedly.`,
  users: USERS_HELP,
};

function usage(cmd: string): string {
  return HELP[cmd] ?? HELP.main!;
}

async function serve(argv: string[], workersOnly = false): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'no-workers': { type: 'boolean', default: false } },
    strict: true,
  });
  const env = readEnvironment();
  // `worker` and `serve --no-workers` set the role; otherwise VIOLAWAKE_ROLE (default `all`) decides.
  if (workersOnly) env.VIOLAWAKE_ROLE = 'worker';
  else if (values['no-workers']) env.VIOLAWAKE_ROLE = 'api';
  const cfg = loadConfigWithSecrets(env);
  const { startServer } = await import('./server.ts');
  const started = await startServer({
    config: cfg,
    http: cfg.role !== 'worker',
    workers: cfg.role !== 'api',
    handleSignals: true,
  });
  if (started.url) process.stdout.write(`\nViolaWake Console is running: open ${cfg.consoleBaseUrl}/\n\n`);
  return -1; // keeps running until a signal
}

/** The configuration, its credentials registered for log scrubbing before anything can fail. */
function loadConfigWithSecrets(env?: Record<string, string>): Config {
  const cfg = loadConfig(env);
  registerSecrets(configSecrets(cfg));
  return cfg;
}

async function migrate(): Promise<number> {
  const cfg = loadConfigWithSecrets();
  const database = await openDatabase({ dbUrl: cfg.dbUrl, dataDir: cfg.dataDir, poolMax: 2 });
  try {
    const r = await runMigrations(database);
    process.stdout.write(`migrations applied: ${r.applied} (${database.driver})\n`);
    return 0;
  } finally {
    await database.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${usage('main')}\n`);
    return cmd ? 0 : 1;
  }
  if (ENGINE_COMMANDS.has(cmd)) {
    const { runEngineCommand } = await import('@violawake/engine/cli/index');
    return runEngineCommand(cmd, rest);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    if (!HELP[cmd]) {
      process.stderr.write(`Unknown command "${cmd}".\n${usage('main')}\n`);
      return 1;
    }
    process.stdout.write(`${usage(cmd)}\n`);
    return 0;
  }
  try {
    switch (cmd) {
      case 'serve':
        return await serve(rest);
      case 'worker':
        return await serve(rest, true);
      case 'migrate':
        return await migrate();
      case 'users': {
        const { usersCommand } = await import('./billing/users-cli.ts');
        return await usersCommand(rest, loadConfigWithSecrets());
      }
      default:
        process.stderr.write(`Unknown command "${cmd}".\n${usage('main')}\n`);
        return 1;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      return 2;
    }
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${(err as Error).message}\n${usage(cmd)}\n`);
      return 1;
    }
    // Not Node's default dump of the error object: a failing query's parameters or a connection URL would be in it.
    process.stderr.write(`${formatFatalError(err)}\n`);
    return 1;
  }
}
