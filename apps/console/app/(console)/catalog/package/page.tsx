'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { Suspense, useEffect, useMemo, useState } from 'react';
import { DiffStats, DiffView } from '../../../../components/diff-view';
import { JsonEditor } from '../../../../components/json-editor';
import { OptionsForm } from '../../../../components/options-form';
import {
  Button,
  Card,
  Dialog,
  ErrorBox,
  KeyValue,
  Loading,
  MutationError,
  PageHeader,
  StatusBadge,
  cx,
  inputClass,
} from '../../../../components/ui';
import { extraErrorsOf, generalIssues, iconOf } from '../../../../lib/catalog';
import { canonicalJson, diffText } from '../../../../lib/diff';
import { serviceHref } from '../../../../lib/links';
import { fieldIssues, useTRPC } from '../../../../lib/trpc';
import type { RouterOutputs } from '../../../../lib/types';
import { useUrlParams } from '../../../../lib/url-state';

type JsonObject = Record<string, unknown>;
type InstallResult = RouterOutputs['catalog']['install'];
type Preview = RouterOutputs['catalog']['upgradePreview'];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export default function PackagePage() {
  return (
    <Suspense fallback={<Loading />}>
      <PackageView />
    </Suspense>
  );
}

function PackageView() {
  const trpc = useTRPC();
  const [params, setParams] = useUrlParams();
  const name = params.get('name') ?? '';
  const version = params.get('version') ?? undefined;
  const upgradeOf = params.get('appId') ?? undefined;
  const describe = useQuery(
    trpc.catalog.describe.queryOptions(
      { packageName: name, ...(version ? { packageVersion: version } : {}) },
      { enabled: name !== '', staleTime: 60_000 },
    ),
  );
  const installed = useQuery(
    trpc.catalog.installed.queryOptions({ packageName: name }, { enabled: name !== '' }),
  );
  const [step, setStep] = useState<'overview' | 'configure'>(upgradeOf ? 'configure' : 'overview');
  const [result, setResult] = useState<InstallResult | null>(null);

  if (!name) return <ErrorBox error={new Error('no package named in the address')} />;
  if (describe.error) return <ErrorBox error={describe.error} />;
  if (describe.isPending) return <Loading what={`Loading ${name}`} />;
  const pkg = describe.data.package;
  const icon = iconOf(pkg.resource && isObject(pkg.resource) ? pkg.resource.images : undefined, 'large');
  const str = (k: string) => (typeof pkg[k] === 'string' ? (pkg[k] as string) : '');
  const tags = Array.isArray(pkg.tags) ? (pkg.tags as string[]) : [];
  const mine = installed.data ?? [];

  return (
    <>
      <PageHeader
        crumbs={[{ href: '/catalog', label: 'Catalog' }]}
        title={
          <span className="flex items-center gap-3">
            {icon ? <img src={icon} alt="" className="size-9 rounded-md" /> : null}
            {name}
            {upgradeOf && <span className="text-base font-normal text-muted">upgrade of {upgradeOf}</span>}
          </span>
        }
        subtitle={`${str('version')} · ${describe.data.repository.name}`}
        actions={
          <>
            <label className="flex items-center gap-2 text-sm text-muted">
              Version
              <select
                className={cx(inputClass, 'w-auto')}
                value={str('version')}
                onChange={(e) => setParams({ version: e.target.value })}
                data-testid="version-select"
              >
                {describe.data.versions.map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
            </label>
            {step === 'overview' && !result && (
              <Button variant="primary" onClick={() => setStep('configure')} data-testid="review-run">
                Review &amp; Run
              </Button>
            )}
          </>
        }
      />
      {result ? (
        <InstallProgress
          result={result}
          onBack={() => {
            setResult(null);
            setStep('overview');
            setParams({ appId: null });
          }}
        />
      ) : step === 'overview' ? (
        <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
          <Card title="About">
            <div className="space-y-3 p-4 text-sm">
              <p className="whitespace-pre-line">{str('description')}</p>
              {str('preInstallNotes') && (
                <div className="rounded-md border border-amber-500/40 bg-amber-500/10 px-3 py-2 text-amber-900 dark:text-amber-200">
                  <strong className="font-semibold">Before installing:</strong> {str('preInstallNotes')}
                </div>
              )}
              <InstallDefaults name={name} version={str('version')} onDone={setResult} />
            </div>
          </Card>
          <Card title="Package">
            <div className="p-4">
              <KeyValue
                items={[
                  ['Version', str('version')],
                  ['Maintainer', str('maintainer') || '—'],
                  [
                    'Website',
                    str('website') ? (
                      <a
                        href={str('website')}
                        className="text-accent hover:underline"
                        rel="noreferrer"
                        target="_blank"
                      >
                        {str('website')}
                      </a>
                    ) : (
                      '—'
                    ),
                  ],
                  [
                    'Licenses',
                    Array.isArray(pkg.licenses)
                      ? (pkg.licenses as Array<{ name?: string }>).map((l) => l.name).join(', ') || '—'
                      : '—',
                  ],
                  ['Tags', tags.join(', ') || '—'],
                  [
                    'Installed',
                    mine.length === 0
                      ? 'no'
                      : mine.map((i) => (
                          <Link
                            key={i.appId}
                            href={serviceHref(i.apps[0]?.id ?? i.appId)}
                            className="mr-2 hover:underline"
                          >
                            {i.appId}
                          </Link>
                        )),
                  ],
                ]}
              />
            </div>
          </Card>
        </div>
      ) : (
        <Configure
          name={name}
          version={str('version')}
          schema={isObject(pkg.config) ? pkg.config : { type: 'object', properties: {} }}
          initial={upgradeOf ? mine.find((i) => i.appId === upgradeOf)?.options : undefined}
          upgradeOf={upgradeOf}
          waiting={Boolean(upgradeOf) && installed.isPending}
          onInstalled={setResult}
          onBack={() => setStep('overview')}
        />
      )}
    </>
  );
}

/** One click: the package with its defaults. */
function InstallDefaults({
  name,
  version,
  onDone,
}: {
  name: string;
  version: string;
  onDone: (r: InstallResult) => void;
}) {
  const trpc = useTRPC();
  const install = useMutation(trpc.catalog.install.mutationOptions({ onSuccess: onDone }));
  return (
    <div className="flex flex-wrap items-center gap-3 pt-1">
      <Button
        variant="primary"
        onClick={() => install.mutate({ packageName: name, packageVersion: version })}
        disabled={install.isPending}
        data-testid="install-defaults"
      >
        {install.isPending ? 'Installing…' : 'Install with defaults'}
      </Button>
      <span className="text-xs text-muted">or Review &amp; Run to change its options first.</span>
      {install.error ? (
        <div className="w-full">
          <MutationError error={install.error} title="Install failed" />
        </div>
      ) : null}
    </div>
  );
}

function Configure({
  name,
  version,
  schema,
  initial,
  upgradeOf,
  waiting,
  onInstalled,
  onBack,
}: {
  name: string;
  version: string;
  schema: JsonObject;
  initial: JsonObject | undefined;
  upgradeOf: string | undefined;
  waiting: boolean;
  onInstalled: (r: InstallResult) => void;
  onBack: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [options, setOptions] = useState<JsonObject>(initial ?? {});
  const [text, setText] = useState(() => JSON.stringify(initial ?? {}, null, 2));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [preview, setPreview] = useState<JsonObject | null>(null);
  const [upgrade, setUpgrade] = useState<Preview | null>(null);
  useEffect(() => {
    if (initial) {
      setOptions(initial);
      setText(JSON.stringify(initial, null, 2));
    }
  }, [initial]);

  const install = useMutation(trpc.catalog.install.mutationOptions({ onSuccess: onInstalled }));
  const render = useMutation(trpc.catalog.render.mutationOptions({ onSuccess: setPreview }));
  const review = useMutation(trpc.catalog.upgradePreview.mutationOptions({ onSuccess: setUpgrade }));
  const doUpgrade = useMutation(
    trpc.catalog.upgrade.mutationOptions({
      onSuccess: async (r) => {
        setUpgrade(null);
        await queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });
        onInstalled({
          packageName: r.packageName,
          packageVersion: r.toVersion,
          appId: r.appId,
          appIds: [...r.create, ...r.change],
          deploymentId: r.deploymentIds[0] ?? '',
          postInstallNotes: null,
        });
      },
    }),
  );
  const failed = install.error ?? render.error ?? review.error;
  const issues = fieldIssues(failed);
  const extraErrors = useMemo(() => extraErrorsOf(issues), [issues]);

  // An edit makes the last answer's field errors stale.
  const clearErrors = () => {
    if (install.error) install.reset();
    if (render.error) render.reset();
    if (review.error) review.reset();
  };
  const fromForm = (v: JsonObject) => {
    clearErrors();
    setOptions(v);
    setText(JSON.stringify(v, null, 2));
    setJsonError(null);
  };
  const fromJson = (t: string) => {
    clearErrors();
    setText(t);
    try {
      const v: unknown = JSON.parse(t);
      if (!isObject(v)) throw new Error('the options must be a JSON object');
      setOptions(v);
      setJsonError(null);
    } catch (err) {
      setJsonError((err as Error).message);
    }
  };
  const pending = install.isPending || doUpgrade.isPending || review.isPending;
  if (waiting) return <Loading what="Loading the installed options" />;

  return (
    <div className="space-y-4">
      <div className="grid gap-4 xl:grid-cols-2">
        <Card title="Options">
          <div className="max-h-[36rem] overflow-y-auto p-4">
            <OptionsForm schema={schema} value={options} onChange={fromForm} extraErrors={extraErrors} />
          </div>
        </Card>
        <Card
          title="JSON"
          actions={jsonError ? <span className="text-xs text-red-600">{jsonError}</span> : null}
        >
          <div className="h-[36rem]" data-testid="options-json">
            <JsonEditor value={text} onChange={fromJson} ariaLabel="Package options JSON" />
          </div>
        </Card>
      </div>
      {generalIssues(issues).map((m) => (
        <ErrorBox key={m} error={new Error(m)} title="Invalid" />
      ))}
      {failed && issues.length === 0 ? <MutationError error={failed} title="Failed" /> : null}
      <div className="flex flex-wrap items-center gap-2">
        <Button onClick={onBack}>Back</Button>
        <Button
          onClick={() => render.mutate({ packageName: name, packageVersion: version, options })}
          disabled={render.isPending || jsonError !== null}
          data-testid="preview-app"
        >
          Preview app JSON
        </Button>
        {upgradeOf ? (
          <Button
            variant="primary"
            disabled={pending || jsonError !== null}
            onClick={() => review.mutate({ appId: upgradeOf, packageVersion: version, options })}
            data-testid="review-upgrade"
          >
            Review changes
          </Button>
        ) : (
          <Button
            variant="primary"
            disabled={pending || jsonError !== null}
            onClick={() => install.mutate({ packageName: name, packageVersion: version, options })}
            data-testid="install-button"
          >
            {install.isPending ? 'Installing…' : 'Install'}
          </Button>
        )}
      </div>
      <Dialog open={preview !== null} onClose={() => setPreview(null)} title="The app Atoll would run" wide>
        <div className="h-[60vh]" data-testid="rendered-json">
          <JsonEditor value={JSON.stringify(preview, null, 2)} readOnly ariaLabel="Rendered app JSON" />
        </div>
      </Dialog>
      <UpgradeDialog
        preview={upgrade}
        pending={doUpgrade.isPending}
        error={doUpgrade.error}
        onClose={() => setUpgrade(null)}
        onConfirm={() =>
          upgradeOf && doUpgrade.mutate({ appId: upgradeOf, packageVersion: version, options })
        }
      />
    </div>
  );
}

function UpgradeDialog({
  preview,
  pending,
  error,
  onClose,
  onConfirm,
}: {
  preview: Preview | null;
  pending: boolean;
  error: unknown;
  onClose: () => void;
  onConfirm: () => void;
}) {
  const lines = useMemo(
    () => (preview ? diffText(canonicalJson(preview.from), canonicalJson(preview.to)) : []),
    [preview],
  );
  return (
    <Dialog
      open={preview !== null}
      onClose={onClose}
      title={preview ? `Upgrade ${preview.appId}: ${preview.fromVersion} → ${preview.toVersion}` : ''}
      wide
      testId="upgrade-dialog"
    >
      {preview && (
        <div className="space-y-3">
          <p className="text-sm">
            {[
              preview.create.length ? `creates ${preview.create.join(', ')}` : '',
              preview.change.length ? `changes ${preview.change.join(', ')}` : '',
              preview.remove.length ? `removes ${preview.remove.join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('; ') || 'No app changes.'}{' '}
            <DiffStats lines={lines} />
          </p>
          <div className="max-h-[50vh] overflow-auto rounded-md border border-line">
            <DiffView lines={lines} testId="upgrade-diff" />
          </div>
          {error ? <MutationError error={error} title="Upgrade failed" /> : null}
          <div className="flex justify-end gap-2">
            <Button onClick={onClose}>Cancel</Button>
            <Button variant="primary" onClick={onConfirm} disabled={pending} data-testid="confirm-upgrade">
              {pending ? 'Upgrading…' : 'Upgrade'}
            </Button>
          </div>
        </div>
      )}
    </Dialog>
  );
}

/** After an install: the notes, and the service's progress live until it runs healthy. */
function InstallProgress({ result, onBack }: { result: InstallResult; onBack: () => void }) {
  const trpc = useTRPC();
  const installed = useQuery(
    trpc.catalog.installed.queryOptions({ appId: result.appId }, { refetchInterval: 2_000 }),
  );
  const me = installed.data?.[0];
  const healthy = me?.apps.reduce((n, a) => n + a.tasksHealthy, 0) ?? 0;
  const wanted = me?.apps.reduce((n, a) => n + a.instances, 0) ?? 0;
  const done = me?.status === 'Running';
  return (
    <Card title="Install">
      <div className="space-y-3 p-4 text-sm" data-testid="install-result">
        <p>
          <strong className="font-semibold">
            {result.packageName} {result.packageVersion}
          </strong>{' '}
          installed as{' '}
          <Link
            href={serviceHref(result.appIds[0] ?? result.appId)}
            className="text-accent hover:underline"
            data-testid="service-link"
          >
            {result.appId}
          </Link>
          .
        </p>
        <div className="flex items-center gap-3" data-testid="install-progress" data-done={done}>
          {me ? (
            <>
              {me.status === 'Unhealthy' ? (
                <span className="text-red-600">Unhealthy</span>
              ) : (
                <StatusBadge status={done ? 'Running' : 'Deploying'} />
              )}
              <span className="tabular-nums">
                {healthy}/{wanted} tasks healthy
              </span>
            </>
          ) : (
            <Loading what="Starting" />
          )}
        </div>
        {result.postInstallNotes && (
          <div
            className="rounded-md border border-line bg-surface-2 px-3 py-2 whitespace-pre-line"
            data-testid="post-install-notes"
          >
            {result.postInstallNotes}
          </div>
        )}
        <div className="flex gap-2">
          <Link
            href={serviceHref(result.appIds[0] ?? result.appId)}
            className="inline-flex h-8 items-center rounded-md bg-accent px-3 text-sm font-medium text-accent-fg hover:brightness-110"
          >
            Open the service
          </Link>
          <Button onClick={onBack}>Back to the package</Button>
        </div>
      </div>
    </Card>
  );
}
