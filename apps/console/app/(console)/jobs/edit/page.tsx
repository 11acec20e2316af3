'use client';

import { useQuery } from '@tanstack/react-query';
import { Suspense } from 'react';
import { JobEditor } from '../../../../components/job-editor';
import { ErrorBox, Loading, PageHeader } from '../../../../components/ui';
import { useTRPC } from '../../../../lib/trpc';
import { useUrlParams } from '../../../../lib/url-state';

/** /jobs/edit?id=prod.backup: the job form and JSON, filled with the job's current definition. */
export default function EditJobPage() {
  return (
    <Suspense fallback={<Loading />}>
      <EditJob />
    </Suspense>
  );
}

function EditJob() {
  const trpc = useTRPC();
  const [params] = useUrlParams();
  const id = params.get('id') ?? '';
  const job = useQuery(
    // Not refetched while open: the form starts from the definition as it was.
    trpc.jobs.get.queryOptions({ id, embed: [] }, { enabled: id !== '', refetchInterval: false }),
  );
  if (!id || job.error) {
    return (
      <div>
        <PageHeader title="Edit job" crumbs={[{ href: '/jobs', label: 'Jobs' }]} />
        <ErrorBox error={job.error ?? 'the address names no job (?id=…)'} />
      </div>
    );
  }
  if (!job.data) return <Loading what="Loading job" />;
  return (
    <JobEditor
      key={job.data.id}
      mode="edit"
      job={job.data}
      initialTab={params.get('tab') === 'json' ? 'json' : 'form'}
    />
  );
}
