'use client';

import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { JobEditor } from '../../../../components/job-editor';
import { Loading } from '../../../../components/ui';

/** /jobs/new (?tab=json opens the JSON tab, for pasting a Metronome job). */
export default function NewJobPage() {
  return (
    <Suspense fallback={<Loading />}>
      <NewJob />
    </Suspense>
  );
}

function NewJob() {
  const params = useSearchParams();
  return <JobEditor mode="create" initialTab={params.get('tab') === 'json' ? 'json' : 'form'} />;
}
