import { describe, expect, it } from 'vitest';
import { appJsonSchema } from './marathon-schema';

describe('appJsonSchema', () => {
  const schema = appJsonSchema() as {
    $schema: string;
    type: string;
    properties: Record<string, { type?: unknown; anyOf?: unknown }>;
  };

  it('is a draft-4 object schema of the app definition', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['id', 'cmd', 'instances', 'cpus', 'mem', 'container', 'healthChecks']),
    );
  });

  it('lets numbers and booleans through as strings, as Atoll reads them', () => {
    expect(schema.properties.cpus?.type).toEqual(['number', 'string']);
    expect(schema.properties.instances?.type).toEqual(['integer', 'string']);
    expect(schema.properties.requirePorts?.type).toEqual(['boolean', 'string']);
    // Strings stay strings; a property named `type` is a subschema, not a type.
    expect(schema.properties.id?.type).toBe('string');
  });
});
