'use client';

import { useQuery } from '@tanstack/react-query';
import { Suspense } from 'react';
import { ServiceEditor } from '../../../../components/service-editor';
import { ErrorBox, Loading, PageHeader } from '../../../../components/ui';
import { useTRPC } from '../../../../lib/trpc';
import { useUrlParams } from '../../../../lib/url-state';

/** /services/edit?id=/prod/web: the Run form and JSON editor, filled with the current definition. */
export default function EditServicePage() {
  return (
    <Suspense fallback={<Loading />}>
      <EditService />
    </Suspense>
  );
}

function EditService() {
  const trpc = useTRPC();
  const [params] = useUrlParams();
  const id = params.get('id') ?? '';
  const app = useQuery(trpc.apps.get.queryOptions({ id }, { enabled: id !== '' }));
  if (!id || app.error) {
    return (
      <div>
        <PageHeader title="Edit service" crumbs={[{ href: '/services', label: 'Services' }]} />
        <ErrorBox error={app.error ?? 'the address names no service (?id=/…)'} />
      </div>
    );
  }
  if (!app.data) return <Loading what="Loading service" />;
  // Keyed by id: the editor starts from the definition as it was when the page opened.
  return <ServiceEditor key={app.data.id} mode="edit" app={app.data} />;
}
