import { Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { InvalidRequestError } from '../common/errors/domain.error';
import { describeFieldErrors, flattenValidationErrors } from '../common/pipes/validation.pipe';
import { CreateTaskDto } from './dto/create-task.dto';

export const MAX_BATCH_SIZE = 1000;

/**
 * Validates a batch body (a JSON array of tasks) item by item with the same rules as a
 * single create, reporting every bad field as `[i].field` so the caller can fix them all.
 */
@Injectable()
export class ParseTaskBatchPipe implements PipeTransform<unknown, CreateTaskDto[]> {
  transform(body: unknown): CreateTaskDto[] {
    if (!Array.isArray(body)) {
      throw new InvalidRequestError('The request body must be a JSON array of tasks', { fields: { body: ['must be an array'] } });
    }
    if (body.length === 0 || body.length > MAX_BATCH_SIZE) {
      throw new InvalidRequestError(`A batch holds 1 to ${MAX_BATCH_SIZE} tasks; got ${body.length}`, { count: body.length });
    }
    const fields: Record<string, string[]> = {};
    const items = body.map((item: unknown, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        fields[`[${i}]`] = ['each item must be a task object'];
        return undefined;
      }
      const dto = plainToInstance(CreateTaskDto, item);
      const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true });
      Object.assign(fields, flattenValidationErrors(errors, `[${i}]`));
      return dto;
    });
    if (Object.keys(fields).length > 0) throw new InvalidRequestError(describeFieldErrors(fields), { fields });
    return items as CreateTaskDto[];
  }
}
