import type { NextConfig } from 'next';

// Served in production by atoll-control through Next's request handler (one origin: the console,
// /api/trpc and the rest), so no standalone output and no rewrites here.
const nextConfig: NextConfig = {
  transpilePackages: ['@atoll/spec'],
  // The root `tsc -p .` typechecks the console with the rest of the monorepo.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
