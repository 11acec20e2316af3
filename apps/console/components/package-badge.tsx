import Link from 'next/link';
import { packageHref, packageOf } from '../lib/catalog';

/** "redis 7.4.1" on a service a catalog package created, linking back to the package. */
export function PackageBadge({ labels }: { labels: unknown }) {
  const pkg = packageOf(labels);
  if (!pkg) return null;
  return (
    <Link
      href={packageHref(pkg.name)}
      className="ml-2 inline-flex items-center gap-1 rounded bg-emerald-500/12 px-1.5 py-0.5 text-[11px] font-medium text-emerald-700 hover:underline dark:text-emerald-300"
      data-testid="package-badge"
      title={`Installed from the catalog: ${pkg.name} ${pkg.version}`}
    >
      <span aria-hidden>◆</span>
      {pkg.name} {pkg.version}
    </Link>
  );
}
