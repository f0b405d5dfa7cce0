import { PAYLOAD_DTOS, payloadDtoOf, TASK_TYPE_REGISTRY, taskDefaults } from './task-type-registry';
import { TASK_TYPES } from './task-types';

describe('task-type registry', () => {
  it("gives every task type the contract's defaults: 3 retries, a 300 s timeout", () => {
    for (const type of TASK_TYPES) expect(taskDefaults(type)).toEqual({ maxRetries: 3, timeoutSeconds: 300 });
  });

  it('gives every task type its own payload DTO, listed once for OpenAPI', () => {
    const classes = TASK_TYPES.map((type) => payloadDtoOf(type));
    expect(new Set(classes).size).toBe(TASK_TYPES.length);
    expect(PAYLOAD_DTOS).toEqual(Object.values(TASK_TYPE_REGISTRY).map((definition) => definition.payload));
    expect([...PAYLOAD_DTOS].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...classes].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });
});
