import { InvalidArgumentError, type Command } from 'commander';
import { TRPCClientError } from '@trpc/client';
import type { CommandContext } from '../context';
import { unifiedDiff } from '../diff';
import { CliError } from '../errors';
import { formatFields, formatTable } from '../format';
import { isYes } from '../prompt';
import { normalizeAppId, readJsonObject } from './app';

type Client = Awaited<ReturnType<CommandContext['client']>>;
export type PackageSummaryRow = Awaited<ReturnType<Client['catalog']['search']['query']>>[number];
export type PackageDescription = Awaited<ReturnType<Client['catalog']['describe']['query']>>;
export type InstalledRow = Awaited<ReturnType<Client['catalog']['installed']['query']>>[number];
export type RepositoryRow = Awaited<ReturnType<Client['catalog']['repositories']['query']>>[number];
export type UpgradePreview = Awaited<ReturnType<Client['catalog']['upgradePreview']['mutate']>>;

/** How much of a diff line `package upgrade` shows (labels hold long base64 values). */
const DIFF_LINE_WIDTH = 160;

/** How much of a package's description `package search` shows. */
const SEARCH_DESCRIPTION_WIDTH = 60;

export function registerPackageCommands(program: Command, ctx: CommandContext): void {
  const pkg = program
    .command('package')
    .description('the package catalog (DC/OS Universe): search, describe, install, upgrade, uninstall');

  pkg
    .command('search')
    .description('search packages by name, tag and description (selected packages first)')
    .argument('[query]', 'words that must all match; empty lists every package', '')
    .action(async (query: string) => {
      const pkgs = await (await ctx.client()).catalog.search.query({ query });
      ctx.print(pkgs, () =>
        pkgs.length === 0
          ? `No packages match "${query}".`
          : packageSearchTable(pkgs, SEARCH_DESCRIPTION_WIDTH),
      );
    });

  pkg
    .command('describe')
    .description('a package version: its details, notes and options (--config: the options schema)')
    .argument('<name>', 'package name, e.g. redis')
    .option('--package-version <version>', 'the version (default: the newest)')
    .option('--config', 'print the options JSON Schema')
    .option('--render', 'print the app or group an install would create (with --options and --app-id)')
    .option(
      '--options <file.json|->',
      'install options (JSON) for --render; - reads them from standard input',
    )
    .option('--app-id <id>', 'app id for --render instead of the package’s own')
    .action(
      async (
        name: string,
        opts: {
          packageVersion?: string;
          config?: boolean;
          render?: boolean;
          options?: string;
          appId?: string;
        },
      ) => {
        if (opts.config && opts.render) throw new CliError('give --config or --render, not both');
        if (!opts.render && (opts.options !== undefined || opts.appId !== undefined))
          throw new CliError('--options and --app-id go with --render', {
            hints: [`atoll package describe ${name} --render --options <file.json>`],
          });
        const client = await ctx.client();
        if (opts.render) {
          const options = opts.options === undefined ? undefined : await readOptions(opts.options, ctx);
          const definition = await withOptionsErrors(opts.options, () =>
            client.catalog.render.mutate({
              packageName: name,
              ...versionAndAppId(opts),
              ...(options ? { options } : {}),
            }),
          );
          ctx.out(JSON.stringify(definition, null, 2));
          return;
        }
        const desc = await client.catalog.describe.query({
          packageName: name,
          ...(opts.packageVersion ? { packageVersion: opts.packageVersion } : {}),
        });
        if (opts.config) {
          ctx.out(JSON.stringify(desc.package.config ?? {}, null, 2));
          return;
        }
        ctx.print(desc, () => packageDetail(desc));
      },
    );

  pkg
    .command('install')
    .description('install a package: one deployment of the app or group it renders')
    .argument('<name>', 'package name, e.g. redis')
    .option('--package-version <version>', 'the version (default: the newest)')
    .option('--options <file.json|->', 'install options (JSON); - reads them from standard input')
    .option('--app-id <id>', 'app id instead of the package’s own (e.g. to install it twice)')
    .option('--yes', 'do not ask for confirmation')
    .action(
      async (
        name: string,
        opts: { packageVersion?: string; options?: string; appId?: string; yes?: boolean },
      ) => {
        const options = opts.options === undefined ? undefined : await readOptions(opts.options, ctx);
        const client = await ctx.client();
        const desc = await client.catalog.describe.query({
          packageName: name,
          ...(opts.packageVersion ? { packageVersion: opts.packageVersion } : {}),
        });
        const request = {
          packageName: name,
          ...versionAndAppId({ ...opts, packageVersion: str(desc.package.version) }),
          ...(options ? { options } : {}),
        };
        // Bad options are refused before anything is asked.
        const rendered = await withOptionsErrors(opts.options, () => client.catalog.render.mutate(request));
        const notes = str(desc.package.preInstallNotes);
        const id = typeof rendered.id === 'string' ? normalizeAppId(rendered.id) : name;
        await confirm(
          ctx,
          `Installing ${name} ${str(desc.package.version)} as ${id}.\n` + (notes ? `${notes}\n` : ''),
          'Continue installing?',
          opts.yes === true,
          'nothing installed',
        );
        const res = await withOptionsErrors(opts.options, () => client.catalog.install.mutate(request));
        ctx.print(res, () =>
          [
            `Installed ${res.packageName} ${res.packageVersion} as ${res.appId} (deployment ${res.deploymentId})`,
            ...(res.appIds.length > 1 || res.appIds[0] !== res.appId
              ? [`Apps: ${res.appIds.join(', ')}`]
              : []),
            ...(res.postInstallNotes ? ['', res.postInstallNotes] : []),
          ].join('\n'),
        );
      },
    );

  pkg
    .command('list')
    .description('installed packages with the status and health of their apps')
    .option('--package <name>', 'only the installs of this package')
    .option('--app-id <id>', 'only the install at this app id')
    .action(async (opts: { package?: string; appId?: string }) => {
      const installed = await (
        await ctx.client()
      ).catalog.installed.query({
        ...(opts.package ? { packageName: opts.package } : {}),
        ...(opts.appId ? { appId: opts.appId } : {}),
      });
      ctx.print(installed, () =>
        installed.length === 0 ? 'No packages installed.' : installedTable(installed),
      );
    });

  pkg
    .command('uninstall')
    .description('remove the apps a package install created, and nothing else')
    .argument('<name>', 'package name')
    .option('--app-id <id>', 'the install to remove when the package is installed more than once')
    .option('--all', 'remove every install of the package')
    .option('--yes', 'do not ask for confirmation')
    .action(async (name: string, opts: { appId?: string; all?: boolean; yes?: boolean }) => {
      const client = await ctx.client();
      const installs = await client.catalog.installed.query({
        packageName: name,
        ...(opts.appId ? { appId: opts.appId } : {}),
      });
      if (installs.length === 0)
        throw new CliError(
          `package ${name} is not installed${opts.appId ? ` at ${normalizeAppId(opts.appId)}` : ''}`,
          { hints: ['see `atoll package list`'] },
        );
      if (installs.length > 1 && !opts.all)
        throw new CliError(
          `package ${name} is installed ${installs.length} times: ${installs.map((i) => i.appId).join(', ')}`,
          { hints: ['give --app-id <id> to remove one, or --all to remove every one'] },
        );
      const apps = installs.flatMap((i) => i.apps.map((a) => a.id));
      await confirm(
        ctx,
        `Uninstalling ${name} removes ${plural(apps.length, 'app')}: ${apps.join(', ')}\n`,
        'Continue uninstalling?',
        opts.yes === true,
        'nothing uninstalled',
      );
      const removed = await client.catalog.uninstall.mutate({
        packageName: name,
        ...(opts.appId ? { appId: opts.appId } : {}),
        all: opts.all === true,
      });
      ctx.print(removed, () =>
        removed
          .map((r) =>
            [
              `Uninstalled ${r.packageName} ${r.packageVersion} at ${r.appId}` +
                (r.removedApps.length > 0 ? ` (removing ${r.removedApps.join(', ')})` : ' (no apps left)'),
              ...(r.postUninstallNotes ? ['', r.postUninstallNotes] : []),
            ].join('\n'),
          )
          .join('\n\n'),
      );
    });

  pkg
    .command('upgrade')
    .description('upgrade an install to another version or other options (shows the changes first)')
    .argument('<app-id>', 'the app id of the install (see `atoll package list`)')
    .option('--package-version <version>', 'the version to go to (default: the installed one)')
    .option('--options <file.json|->', 'new options (JSON), replacing the install’s; - reads standard input')
    .option('--yes', 'do not ask for confirmation')
    .action(async (appId: string, opts: { packageVersion?: string; options?: string; yes?: boolean }) => {
      const options = opts.options === undefined ? undefined : await readOptions(opts.options, ctx);
      const client = await ctx.client();
      const request = {
        appId,
        ...(opts.packageVersion ? { packageVersion: opts.packageVersion } : {}),
        ...(options ? { options } : {}),
      };
      const preview = await withOptionsErrors(opts.options, () =>
        client.catalog.upgradePreview.mutate(request),
      );
      const nothing = preview.create.length + preview.change.length + preview.remove.length === 0;
      if (nothing) {
        ctx.print({ ...preview, deploymentIds: [] }, () => upgradePreviewText(preview));
        return;
      }
      await confirm(
        ctx,
        upgradePreviewText(preview),
        'Continue upgrading?',
        opts.yes === true,
        'nothing upgraded',
      );
      const res = await withOptionsErrors(opts.options, () => client.catalog.upgrade.mutate(request));
      ctx.print(
        res,
        () =>
          `Upgraded ${res.appId} to ${res.packageName} ${res.toVersion} (deployment${res.deploymentIds.length === 1 ? '' : 's'} ${res.deploymentIds.join(', ')})`,
      );
    });

  const repo = pkg.command('repo').description('package repositories, searched in priority order');

  repo
    .command('list')
    .description('list repositories, the first searched first')
    .action(async () => {
      const repos = await (await ctx.client()).catalog.repositories.query();
      ctx.print(repos, () => (repos.length === 0 ? 'No repositories.' : repositoryTable(repos)));
    });

  repo
    .command('show')
    .description('a repository, with the entries of it that could not be read and why')
    .argument('<name>', 'the repository’s name')
    .action(async (name: string) => {
      const repos = await (await ctx.client()).catalog.repositories.query();
      const r = repos.find((x) => x.name === name);
      if (!r) throw new CliError(`no repository named ${name}`);
      ctx.print(r, () => repositoryText(r));
    });

  repo
    .command('add')
    .description('add a Universe repository (an index by http(s) URL or absolute path on control’s host)')
    .argument('<name>', 'a name for it')
    .argument('<uri>', 'http(s) URL or absolute path of a Universe index (repo-up-to-*.json), or builtin:')
    .option('--index <n>', 'its place in the search order (0: first; default: last)', parseIndex)
    .action(async (name: string, uri: string, opts: { index?: number }) => {
      const repos = await (
        await ctx.client()
      ).catalog.addRepository.mutate({
        name,
        uri,
        ...(opts.index !== undefined ? { index: opts.index } : {}),
      });
      const added = repos.find((r) => r.name === name);
      ctx.print(repos, () =>
        added
          ? `Added repository ${name} with ${plural(added.packages, 'package')} (priority ${added.priority})` +
            (added.skipped.length > 0
              ? `; skipped ${added.skipped.length} it cannot read (atoll package repo show ${name})`
              : '')
          : `Added repository ${name}`,
      );
    });

  repo
    .command('remove')
    .description('remove a repository (installed packages stay installed)')
    .argument('<name>', 'the repository’s name')
    .action(async (name: string) => {
      const repos = await (await ctx.client()).catalog.removeRepository.mutate({ name });
      ctx.print(repos, () => `Removed repository ${name}`);
    });
}

function versionAndAppId(opts: { packageVersion?: string | undefined; appId?: string | undefined }) {
  return {
    ...(opts.packageVersion ? { packageVersion: opts.packageVersion } : {}),
    ...(opts.appId ? { appId: opts.appId } : {}),
  };
}

/** A place in the repository order: a whole number, 0 or more. */
export function parseIndex(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('It must be a whole number, 0 or more.');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('It is too large.');
  return n;
}

/** The install options of `--options`: a JSON object from a file or standard input. */
function readOptions(file: string, ctx: CommandContext): Promise<Record<string, unknown>> {
  return readJsonObject(file, ctx.io, {
    what: 'the options',
    mustHold: 'the package options as a JSON object, e.g. {"resources": {"mem": 256}}',
  });
}

/**
 * Runs a catalog call and turns the server's refusal of the options (422 with issues under
 * `options.`) into an error naming the options file and each field, without the `options.` prefix.
 */
async function withOptionsErrors<T>(file: string | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const issues = optionIssues(err);
    if (issues.length === 0) throw err;
    const source = file === undefined ? 'the default options' : file === '-' ? 'standard input' : file;
    throw new CliError(`invalid options (${source}):`, {
      hints: issues.map((i) => `${i.path}: ${i.message}`),
      cause: err,
    });
  }
}

/** The issues of a tRPC error that are about the options, paths relative to the options. */
export function optionIssues(err: unknown): Array<{ path: string; message: string }> {
  if (!(err instanceof TRPCClientError)) return [];
  const issues = (err.data as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  const out: Array<{ path: string; message: string }> = [];
  for (const i of issues as Array<{ path?: unknown; message?: unknown }>) {
    if (typeof i.path !== 'string' || typeof i.message !== 'string') continue;
    if (i.path !== 'options' && !i.path.startsWith('options.')) continue;
    out.push({
      path: i.path === 'options' ? '(options)' : i.path.slice('options.'.length),
      message: i.message,
    });
  }
  return out;
}

/**
 * Shows what is about to happen and asks `question` [y/N] unless `yes`. Without a terminal to
 * ask on, it refuses (a script says --yes). In JSON mode the text goes to standard error, so
 * standard output keeps only the JSON of the result.
 */
async function confirm(
  ctx: CommandContext,
  text: string,
  question: string,
  yes: boolean,
  declined: string,
): Promise<void> {
  if (yes) {
    if (!ctx.json) ctx.out(text.trimEnd());
    return;
  }
  if (!ctx.io.readLine)
    throw new CliError(`${question.replace(/\?$/, '')}: no terminal to ask for confirmation`, {
      hints: ['run again with --yes to go ahead without asking'],
    });
  if (ctx.json) ctx.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  else ctx.out(text.trimEnd());
  const answer = await ctx.io.readLine(`${question} [y/N] `);
  if (!isYes(answer)) throw new CliError(`cancelled: ${declined}`);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Cuts `text` to `width` characters, ending with … when cut; whitespace runs become one space. */
export function truncate(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  if (chars.length <= width) return flat;
  return (
    chars
      .slice(0, Math.max(0, width - 1))
      .join('')
      .trimEnd() + '…'
  );
}

/** `package search`: selected packages marked ★, descriptions cut to `width`. */
export function packageSearchTable(pkgs: PackageSummaryRow[], width = SEARCH_DESCRIPTION_WIDTH): string {
  return formatTable(
    ['NAME', 'VERSION', 'SELECTED', 'REPOSITORY', 'DESCRIPTION'],
    pkgs.map((p) => [
      p.name,
      p.currentVersion,
      p.selected ? '★' : '',
      p.repository,
      truncate(p.description, width),
    ]),
  );
}

/** One option of a package: its dotted path in the options and what its schema says. */
export interface OptionSummary {
  path: string;
  type: string;
  default: string;
  description: string;
}

/**
 * The options of a package's JSON Schema (config.json) as rows: every leaf property under nested
 * `properties`, by dotted path, with its type, default and description (plus `required` and the
 * allowed values when the schema gives them). An object without properties is a leaf.
 */
export function optionsSummary(schema: unknown): OptionSummary[] {
  const out: OptionSummary[] = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    const props = node.properties;
    if (typeof props !== 'object' || props === null) return;
    const req = new Set(
      Array.isArray(node.required) ? node.required.filter((r) => typeof r === 'string') : [],
    );
    for (const [key, value] of Object.entries(props as Record<string, unknown>)) {
      if (typeof value !== 'object' || value === null) continue;
      const prop = value as Record<string, unknown>;
      const path = prefix ? `${prefix}.${key}` : key;
      const nested = prop.properties;
      if (typeof nested === 'object' && nested !== null && Object.keys(nested).length > 0) {
        walk(prop, path);
        continue;
      }
      const notes: string[] = [];
      if (req.has(key)) notes.push('required');
      if (Array.isArray(prop.enum)) notes.push(`one of: ${prop.enum.map(showValue).join(', ')}`);
      const description =
        typeof prop.description === 'string' ? prop.description.replace(/\s+/g, ' ').trim() : '';
      out.push({
        path,
        type: schemaType(prop),
        default: 'default' in prop ? showValue(prop.default) : '-',
        description: [description, ...(notes.length > 0 ? [`(${notes.join('; ')})`] : [])].join(' ').trim(),
      });
    }
  };
  if (typeof schema === 'object' && schema !== null) walk(schema as Record<string, unknown>, '');
  return out;
}

function schemaType(prop: Record<string, unknown>): string {
  const t = prop.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.filter((x) => typeof x === 'string').join('|') || '-';
  if (Array.isArray(prop.enum)) return 'enum';
  return '-';
}

/** A default or enum value as people read it: strings bare (`""` when empty), the rest as JSON. */
function showValue(v: unknown): string {
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v) ?? String(v);
}

export function optionsTable(options: OptionSummary[]): string {
  return formatTable(
    ['OPTION', 'TYPE', 'DEFAULT', 'DESCRIPTION'],
    options.map((o) => [o.path, o.type, o.default, o.description]),
  );
}

/** `package describe`: the package's fields, its notes and a summary of its options. */
export function packageDetail(desc: PackageDescription): string {
  const p = desc.package;
  const tags = Array.isArray(p.tags) ? p.tags.filter((t) => typeof t === 'string') : [];
  const licenses = Array.isArray(p.licenses)
    ? p.licenses.flatMap((l: unknown) =>
        typeof l === 'object' && l !== null && typeof (l as { name?: unknown }).name === 'string'
          ? [(l as { name: string }).name]
          : [],
      )
    : [];
  let text = formatFields([
    ['NAME', str(p.name)],
    ['VERSION', str(p.version)],
    ['VERSIONS', desc.versions.join(', ')],
    ['REPOSITORY', `${desc.repository.name} (${desc.repository.uri})`],
    ['SELECTED', p.selected === true ? 'yes ★' : undefined],
    ['FRAMEWORK', p.framework === true ? 'yes' : undefined],
    ['TAGS', tags.join(', ')],
    ['MAINTAINER', str(p.maintainer)],
    ['WEBSITE', str(p.website)],
    ['LICENSES', licenses.join(', ')],
    ['DESCRIPTION', str(p.description).replace(/\s+/g, ' ').trim()],
  ]);
  const notes = str(p.preInstallNotes).trim();
  if (notes) text += `\nPre-install notes:\n${indent(notes)}\n`;
  const options = optionsSummary(p.config);
  text +=
    options.length === 0
      ? '\nNo options.\n'
      : `\nOptions (install with --options <file.json>; --config prints the schema):\n${optionsTable(options)}`;
  return text;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}

/** Healthy tasks over wanted instances, summed over the apps of an install. */
export function installTasks(apps: InstalledRow['apps']): string {
  const healthy = apps.reduce((n, a) => n + a.tasksHealthy, 0);
  const wanted = apps.reduce((n, a) => n + a.instances, 0);
  return `${healthy}/${wanted}`;
}

/** `package list`. */
export function installedTable(installed: InstalledRow[]): string {
  return formatTable(
    ['APP ID', 'PACKAGE', 'VERSION', 'STATUS', 'TASKS(healthy/wanted)'],
    installed.map((i) => [i.appId, i.packageName, i.packageVersion, i.status, installTasks(i.apps)]),
    ['left', 'left', 'left', 'left', 'right'],
  );
}

/** `package repo list`. */
export function repositoryTable(repos: RepositoryRow[]): string {
  return formatTable(
    ['NAME', 'PRIORITY', 'PACKAGES', 'SKIPPED', 'URI'],
    repos.map((r) => [r.name, String(r.priority), String(r.packages), String(r.skipped.length), r.uri]),
    ['left', 'right', 'right', 'right', 'left'],
  );
}

/** `package repo show`: a repository and the entries of it Atoll could not read, with why. */
export function repositoryText(r: RepositoryRow): string {
  const head = `${r.name} (${r.uri}), priority ${r.priority}: ${plural(r.packages, 'package')}, ${r.skipped.length} skipped\n`;
  if (r.skipped.length === 0) return head;
  return (
    head +
    '\n' +
    formatTable(
      ['ENTRY', 'NAME', 'VERSION', 'REASON'],
      r.skipped.map((x) => [x.path ?? String(x.index), x.name ?? '-', x.version ?? '-', x.reason]),
      ['right', 'left', 'left', 'left'],
    )
  );
}

/** What `package upgrade` shows before it asks: the versions, the apps it touches and the diff. */
export function upgradePreviewText(p: UpgradePreview): string {
  const lines = [
    `Upgrade of ${p.appId} (${p.packageName}): ${p.fromVersion} → ${p.toVersion}`,
    `  create: ${p.create.join(', ') || '-'}`,
    `  change: ${p.change.join(', ') || '-'}`,
    `  remove: ${p.remove.join(', ') || '-'}`,
  ];
  if (p.create.length + p.change.length + p.remove.length === 0) lines.push('Nothing to change.');
  // Keys sorted: the installed definition comes back from PostgreSQL's jsonb in another order.
  const diff = unifiedDiff(
    JSON.stringify(sortKeys(p.from), null, 2),
    JSON.stringify(sortKeys(p.to), null, 2),
  );
  if (diff)
    lines.push(
      '',
      `--- ${p.appId} (${p.fromVersion}, installed)`,
      `+++ ${p.appId} (${p.toVersion}, upgraded)`,
      ...diff
        .trimEnd()
        .split('\n')
        .map((l) => shortenLine(l, DIFF_LINE_WIDTH)),
    );
  return lines.join('\n') + '\n';
}

/** A line cut to `width` characters, saying how long it was. */
export function shortenLine(line: string, width: number): string {
  if (line.length <= width) return line;
  return `${line.slice(0, width)}… (${line.length} characters)`;
}

/** A JSON value with the keys of every object sorted, so two definitions compare line by line. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
