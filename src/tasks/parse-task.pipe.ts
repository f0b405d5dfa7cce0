import { Injectable, PipeTransform } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/domain.error';
import { describeFieldErrors } from '../common/errors/validation-errors';
import { CreateTaskDto } from '../task-types/create-task.dto';
import { PayloadValidatorService } from './payload-validator.service';

/**
 * Validates a task request — its own fields, its payload and its callback URL — in one pass,
 * so a caller sees every bad field at once (`priority` and `payload.samples` together). Used
 * with `@RawBody`, since the global ValidationPipe would otherwise stop at the request's fields.
 */
@Injectable()
export class ParseTaskPipe implements PipeTransform<unknown, Promise<CreateTaskDto>> {
  constructor(private readonly validator: PayloadValidatorService) {}

  async transform(body: unknown): Promise<CreateTaskDto> {
    const { dto, fields } = await this.validator.checkRequest(body);
    if (!dto || Object.keys(fields).length > 0) throw new InvalidRequestError(describeFieldErrors(fields), { fields });
    return dto;
  }
}
