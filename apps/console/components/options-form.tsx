'use client';

import Form from '@rjsf/core';
import type { RJSFSchema } from '@rjsf/utils';
import { customizeValidator } from '@rjsf/validator-ajv8';
import { useMemo } from 'react';
import { uiSchemaOf } from '../lib/catalog';

type JsonObject = Record<string, unknown>;

// `password` and `textarea` only say how to show a field (as in the catalog's own validation).
const validator = customizeValidator({ customFormats: { password: /.*/, textarea: /.*/ } });

/**
 * A package's options as a form generated from its JSON Schema (config.json) by rjsf. The form
 * has no submit button of its own: the page's Install sends `value`. Errors from the API arrive
 * as `extraErrors` and show under their fields.
 */
export function OptionsForm({
  schema,
  value,
  onChange,
  extraErrors,
}: {
  schema: JsonObject;
  value: JsonObject;
  onChange: (v: JsonObject) => void;
  extraErrors: JsonObject;
}) {
  const uiSchema = useMemo(
    () => ({ ...uiSchemaOf(schema), 'ui:submitButtonOptions': { norender: true } }),
    [schema],
  );
  return (
    <div className="atoll-rjsf" data-testid="options-form">
      <Form
        schema={schema as RJSFSchema}
        uiSchema={uiSchema}
        formData={value}
        validator={validator}
        onChange={(e) => onChange((e.formData ?? {}) as JsonObject)}
        extraErrors={extraErrors as never}
        showErrorList={false}
        noHtml5Validate
        liveValidate={false}
        experimental_defaultFormStateBehavior={{ emptyObjectFields: 'populateAllDefaults' }}
      />
    </div>
  );
}
