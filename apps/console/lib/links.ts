/**
 * App ids contain slashes, so the detail page takes the id as a query parameter. Slashes are
 * legal in a query string and kept readable: `/services/detail?id=/prod/web`.
 */
export function serviceHref(id: string, tab?: string): string {
  const enc = encodeURIComponent(id).replace(/%2F/gi, '/');
  return `/services/detail?id=${enc}${tab ? `&tab=${tab}` : ''}`;
}

/** The Run form and JSON editor, filled with the service's current definition. */
export function editHref(id: string): string {
  return `/services/edit?id=${encodeURIComponent(id).replace(/%2F/gi, '/')}`;
}

/** A job's page; `extra` adds its tab, run and task (`{ run: id }`). */
export function jobHref(id: string, extra: Record<string, string> = {}): string {
  const qs = new URLSearchParams({ id, ...extra });
  return `/jobs/detail?${qs.toString()}`;
}

/** The job form and JSON editor, filled with the job's current definition. */
export function jobEditHref(id: string): string {
  return `/jobs/edit?id=${encodeURIComponent(id)}`;
}
