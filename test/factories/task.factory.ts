/** Request bodies for POST /api/v1/tasks with sensible defaults and per-test overrides. */
export function taskRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    task_type: 'health_check',
    kb_id: 'kb_factory',
    priority: 'normal',
    payload: {},
    ...overrides,
  };
}
