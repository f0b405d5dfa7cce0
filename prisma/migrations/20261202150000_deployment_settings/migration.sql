-- Facts the API processes decide and every process must share (the upload namespace mode in
-- auto, which only an API can resolve: it holds the credentials). One row per fact.
CREATE TABLE "deployment_settings" (
    "key" VARCHAR(64) NOT NULL,
    "value" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_settings_pkey" PRIMARY KEY ("key")
);
