/** The closed choices among the environment variables (validated in env.validation.ts). */

export enum EmbeddingProviderKind {
  Hashing = 'hashing',
  OpenAi = 'openai',
}

/** Which vector store backend start-up picks: `auto` uses pgvector when the extension is installed. */
export enum VectorStoreMode {
  Auto = 'auto',
  Pgvector = 'pgvector',
  FloatArray = 'float_array',
}

/**
 * How UPLOAD_DIR is divided between knowledge bases: `per_kb` confines a kb's tasks to
 * `UPLOAD_DIR/<kb_id>/`; `shared` lets every kb read the whole folder; `auto` is per_kb
 * as soon as a credential can be limited to some kbs (an API key with kb_ids, or JWTs).
 */
export enum UploadNamespaceMode {
  Auto = 'auto',
  Shared = 'shared',
  PerKb = 'per_kb',
}

export enum AppRole {
  Api = 'api',
  Worker = 'worker',
  Both = 'both',
}
