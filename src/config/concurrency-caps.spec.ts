import { parseTaskTypeCaps, taskTypeCapsProblem } from './concurrency-caps';
import { validateEnvironment } from './env.validation';

describe('TASK_TYPE_MAX_CONCURRENCY', () => {
  it('accepts an empty value and type:limit pairs', () => {
    expect(taskTypeCapsProblem('')).toBeNull();
    expect(taskTypeCapsProblem('document_processing:4, embedding_generation:8')).toBeNull();
    expect(parseTaskTypeCaps('document_processing:4, embedding_generation:8')).toEqual({
      document_processing: 4,
      embedding_generation: 8,
    });
    expect(parseTaskTypeCaps('')).toEqual({});
  });

  it('names every bad entry', () => {
    const problem = taskTypeCapsProblem('ocr:2,document_processing:0,health_check,health_check:1,health_check:2');
    expect(problem).toContain('"ocr" is not a task type');
    expect(problem).toContain("document_processing's limit must be at least 1");
    expect(problem).toContain('"health_check" is not task_type:limit');
    expect(problem).toContain('health_check is listed twice');
  });

  it('stops the boot naming the variable', () => {
    expect(() => validateEnvironment({ TASK_TYPE_MAX_CONCURRENCY: 'ocr:2' })).toThrow(
      /TASK_TYPE_MAX_CONCURRENCY.*"ocr" is not a task type/,
    );
    expect(() => validateEnvironment({ KB_MAX_CONCURRENCY: '-1' })).toThrow(/KB_MAX_CONCURRENCY/);
    expect(() => validateEnvironment({ KB_FAIR_DISPATCH: 'maybe' })).toThrow(/KB_FAIR_DISPATCH/);
    expect(validateEnvironment({ KB_FAIR_DISPATCH: 'false' }).KB_FAIR_DISPATCH).toBe(false);
  });
});
