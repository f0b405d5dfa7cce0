/**
 * What the pipeline needs from an embedding model, so the store and search code does not
 * care whether vectors come from the local hashing embedder or a remote model server.
 * `name` and `model` are stored with every vector: vectors from different models are not
 * comparable, so a search must only ever compare vectors of the same model and dimension.
 */
export interface EmbeddingProvider {
  /** Provider kind, e.g. `hashing` or `openai-compatible`. */
  readonly name: string;
  /** Model identifier as stored with the vectors. */
  readonly model: string;
  /** Length of every returned vector. */
  readonly dimension: number;
  /** One vector per input text, in input order. Rejects with the signal's reason when aborted. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

export type EmbeddingErrorCode =
  | 'EMBEDDING_REQUEST_FAILED'
  | 'EMBEDDING_RETRIES_EXHAUSTED'
  | 'EMBEDDING_RATE_LIMITED'
  | 'EMBEDDING_INVALID_RESPONSE'
  | 'EMBEDDING_DIMENSION_MISMATCH';

/**
 * A failed embedding call. `retryable` tells the processor whether a later attempt of the
 * whole task may succeed (the server was overloaded or unreachable) or whether it must
 * fail at once (bad request, wrong key, misconfigured dimension).
 */
export class EmbeddingError extends Error {
  constructor(
    readonly code: EmbeddingErrorCode,
    message: string,
    readonly retryable: boolean,
    /** HTTP status of the last response, when there was one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmbeddingError';
  }
}
