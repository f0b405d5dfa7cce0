import { defineConfig } from 'prisma/config';

// The connection URL lives here (Prisma 7); the runtime client gets it from the validated
// env through PrismaService instead.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_manager',
  },
});
