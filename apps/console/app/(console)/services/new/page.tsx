'use client';

import { ServiceEditor } from '../../../../components/service-editor';

export default function RunServicePage() {
  return <ServiceEditor mode="create" />;
}
