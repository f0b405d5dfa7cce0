import { Injectable, PipeTransform } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/domain.error';
import { describeFieldErrors } from '../common/errors/validation-errors';
import { CreateTaskDto } from '../task-types/create-task.dto';
import { FieldErrors, PayloadValidatorService } from './payload-validator.service';

export const MAX_BATCH_SIZE = 1000;

/**
 * Validates a batch body (a JSON array of tasks) item by item with the same rules as a
 * single create, reporting every bad field as `[i].field` (`[3].payload.file_path`) so the
 * caller can fix them all.
 */
@Injectable()
export class ParseTaskBatchPipe implements PipeTransform<unknown, Promise<CreateTaskDto[]>> {
  constructor(private readonly validator: PayloadValidatorService) {}

  async transform(body: unknown): Promise<CreateTaskDto[]> {
    if (!Array.isArray(body)) {
      throw new InvalidRequestError('The request body must be a JSON array of tasks', {
        fields: { body: ['must be an array'] },
      });
    }
    if (body.length === 0 || body.length > MAX_BATCH_SIZE) {
      throw new InvalidRequestError(`A batch holds 1 to ${MAX_BATCH_SIZE} tasks; got ${body.length}`, {
        count: body.length,
      });
    }
    const fields: FieldErrors = {};
    const items: CreateTaskDto[] = [];
    for (const [i, item] of body.entries()) {
      const checked = await this.validator.checkRequest(item, `[${i}]`);
      Object.assign(fields, checked.fields);
      if (checked.dto) items.push(checked.dto);
    }
    if (Object.keys(fields).length > 0) throw new InvalidRequestError(describeFieldErrors(fields), { fields });
    return items;
  }
}
