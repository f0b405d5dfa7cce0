import { HEALTH_COMPONENTS, TaskType } from '../queues/task-types';

/** Field path → messages, the same shape as the validation pipe's `details.fields`. */
export type FieldErrors = Record<string, string[]>;

type PayloadCheck = (payload: Record<string, unknown>) => FieldErrors;


/**
 * Per-type payload checks run at create time, so a payload its processor would reject is
 * refused with 400 before it is stored. Processors check again: a task can also arrive
 * through the database or an older API version.
 */
const CHECKS: Partial<Record<TaskType, PayloadCheck>> = {
  [TaskType.health_check]: (payload) => {
    const errors: FieldErrors = {};
    const { checks } = payload;
    if (checks !== undefined && (!Array.isArray(checks) || checks.length === 0 || !checks.every((c) => (HEALTH_COMPONENTS as readonly unknown[]).includes(c)))) {
      errors['payload.checks'] = [`payload.checks must be a non-empty array of: ${HEALTH_COMPONENTS.join(', ')}`];
    }
    checkInteger(errors, payload, 'samples', 1, 1000);
    checkInteger(errors, payload, 'interval_ms', 0, 60000);
    return errors;
  },
};

/** An optional integer field of the payload within [min, max]. */
export function checkInteger(errors: FieldErrors, payload: Record<string, unknown>, field: string, min: number, max: number): void {
  const value = payload[field];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    errors[`payload.${field}`] = [`payload.${field} must be an integer from ${min} to ${max}`];
  }
}

export function validatePayload(taskType: TaskType, payload: Record<string, unknown>): FieldErrors {
  return CHECKS[taskType]?.(payload) ?? {};
}
