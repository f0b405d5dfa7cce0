import { ValidationPipe } from '@nestjs/common';
import { InvalidRequestError } from '../errors/domain.error';
import { describeFieldErrors, flattenValidationErrors } from '../errors/validation-errors';

/** The global pipe: strips nothing silently (unknown fields are errors) and converts query strings to typed DTOs. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      return new InvalidRequestError(describeFieldErrors(fields), { fields });
    },
  });
}
