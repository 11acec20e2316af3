import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="flex min-h-full flex-col items-center justify-center gap-3 p-10 text-center">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="text-muted">The console has no page at this address.</p>
      <Link href="/" className="text-accent hover:underline">
        Back to the dashboard
      </Link>
    </main>
  );
}
