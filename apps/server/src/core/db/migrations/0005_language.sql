ALTER TABLE "recordings" ADD COLUMN "language" varchar(16) DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "trained_models" ADD COLUMN "language" varchar(16) DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "training_jobs" ADD COLUMN "language" varchar(16) DEFAULT 'en' NOT NULL;