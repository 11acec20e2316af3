'use client';

import { useState } from 'react';
import { ModeSwitch, PodEditor } from '../../../../components/pod-editor';
import { ServiceEditor } from '../../../../components/service-editor';

export default function RunServicePage() {
  const [mode, setMode] = useState<'single' | 'pod'>('single');
  const switcher = <ModeSwitch mode={mode} onChange={setMode} />;
  return mode === 'pod' ? (
    <PodEditor switcher={switcher} />
  ) : (
    <ServiceEditor mode="create" switcher={switcher} />
  );
}
