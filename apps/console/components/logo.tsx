/** An atoll seen from above: a ring of reef around a lagoon. */
export function Logo({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 32 32" className={className} aria-hidden fill="none">
      <circle cx="16" cy="16" r="12" stroke="currentColor" strokeWidth="4" strokeDasharray="14 4" />
      <circle cx="16" cy="16" r="4" fill="currentColor" opacity="0.45" />
    </svg>
  );
}
