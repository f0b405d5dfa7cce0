import type { OpenAPIObject } from '@nestjs/swagger';
import type { ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { PAYLOAD_DTOS, TASK_TYPE_REGISTRY } from '../task-types/task-type-registry';
import { TASK_TYPES, TaskType } from '../task-types/task-types';
import { RESULT_COMPONENTS, RESULT_SCHEMA } from './task-result.schemas';

type Schemas = Record<string, SchemaObject | ReferenceObject>;

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const pascal = (type: TaskType): string => type.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

/** The schema a class-generated component has; the document builder always emits objects for DTO classes. */
function objectSchema(schemas: Schemas, name: string): SchemaObject {
  const schema = schemas[name];
  if (!schema || '$ref' in schema) throw new Error(`OpenAPI: schema ${name} is missing`);
  return schema;
}

/** A copy of `base` with `task_type` fixed to one value and the given properties replaced. */
function variant(
  base: SchemaObject,
  type: TaskType,
  properties: Record<string, SchemaObject | ReferenceObject>,
  required = base.required,
): SchemaObject {
  const taskType = base.properties?.task_type as SchemaObject | undefined;
  return {
    ...base,
    properties: { ...base.properties, task_type: { ...taskType, enum: [type], example: type }, ...properties },
    ...(required ? { required } : {}),
  };
}

/** A oneOf over the variants named `name(type)`, told apart by `task_type`. */
function byTaskType(types: readonly TaskType[], name: (type: TaskType) => string, description: string): SchemaObject {
  return {
    description,
    oneOf: types.map((type) => ref(name(type))),
    discriminator: {
      propertyName: 'task_type',
      mapping: Object.fromEntries(types.map((type) => [type, ref(name(type)).$ref])),
    },
  };
}

/**
 * Types `payload` and `result` per task type, which the DTO classes cannot express: the
 * task request and the task response each become a `oneOf` of one schema per task type,
 * with a discriminator on `task_type`, so a generated client narrows `payload` (and
 * `result`) by switching on `task_type`. The variants are derived from the class-generated
 * CreateTaskDto and TaskResponseDto, so a field added to a DTO appears in every variant.
 *
 * - payload schemas keep `additionalProperties: true`: keys a processor does not read are
 *   the caller's own and are stored as sent;
 * - a batch_processing payload's `items` are task requests without `kb_id` (children
 *   belong to the batch's kb) and never batch_processing themselves.
 */
export function typeTaskSchemas(document: OpenAPIObject): void {
  const schemas = ((document.components ??= {}).schemas ??= {});
  Object.assign(schemas, RESULT_COMPONENTS);

  for (const dto of PAYLOAD_DTOS) {
    const payload = objectSchema(schemas, dto.name);
    payload.additionalProperties = true;
  }
  const payloadOf = (type: TaskType) => ref(TASK_TYPE_REGISTRY[type].payload.name);

  const request = objectSchema(schemas, 'CreateTaskDto');
  request.additionalProperties = false;
  const requestName = (type: TaskType) => `Create${pascal(type)}TaskRequest`;
  for (const type of TASK_TYPES) schemas[requestName(type)] = variant(request, type, { payload: payloadOf(type) });

  const childTypes = TASK_TYPES.filter((type) => type !== TaskType.batch_processing);
  const childName = (type: TaskType) => `Batch${pascal(type)}ChildRequest`;
  // From the DTO that validates an item, not from CreateTaskDto: an item has no callback
  // fields (they belong to the batch), and a schema that listed them let clients send what
  // the service refuses.
  const item = objectSchema(schemas, 'BatchTaskItemDto');
  item.additionalProperties = false;
  for (const type of childTypes) schemas[childName(type)] = variant(item, type, { payload: payloadOf(type) });
  schemas.BatchChildTaskRequest = byTaskType(
    childTypes,
    childName,
    "A child task of a batch: a task request whose kb_id defaults to the batch's",
  );
  const batch = objectSchema(schemas, TASK_TYPE_REGISTRY[TaskType.batch_processing].payload.name);
  const items = batch.properties?.items as SchemaObject | undefined;
  if (items) items.items = ref('BatchChildTaskRequest');
  // The DTO that validates an item is described per task type by BatchChildTaskRequest instead.
  delete schemas.BatchTaskItemDto;

  schemas.CreateTaskDto = byTaskType(TASK_TYPES, requestName, 'A task to submit; `payload` depends on `task_type`');

  const response = objectSchema(schemas, 'TaskResponseDto');
  const responseName = (type: TaskType) => `${pascal(type)}Task`;
  for (const type of TASK_TYPES) {
    schemas[responseName(type)] = variant(response, type, {
      payload: payloadOf(type),
      result: {
        type: 'object',
        nullable: true,
        description:
          'What the task produced; null until it has (batch and pipeline parents hold a partial result while their children run)',
        allOf: [ref(RESULT_SCHEMA[type])],
      },
    });
  }
  schemas.TaskResponseDto = byTaskType(
    TASK_TYPES,
    responseName,
    'A task as every endpoint returns it; `payload` and `result` depend on `task_type`',
  );
}
